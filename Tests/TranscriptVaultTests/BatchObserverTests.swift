import Foundation
import Synchronization
import Testing
import TranscriptStorage
import TranscriptTestSupport
@testable import TranscriptVault

/// A ticket's callback may be registered with a ``WriteBatchObserver``: the observer is told
/// once per batch before the first callback of that batch registered with it, and once after
/// the last, so that a server can wake each event loop once per batch instead of once per
/// append, and early.
@Suite("Writer: batch observers")
struct BatchObserverTests {
    /// What happened, in order: callbacks as "cb<n>", observers' notifications by name ("A+"
    /// as a batch starts, "A" once it is finished).
    final class Log: Sendable {
        private let events = Mutex<[String]>([])
        func add(_ event: String) { events.withLock { $0.append(event) } }
        var all: [String] { events.withLock { $0 } }

        /// Waits (up to 30 s, a hang detector) until `event` has happened `count` times.
        func wait(for event: String, count: Int = 1) async throws {
            let happened = try await eventually(within: 30) { all.filter { $0 == event }.count >= count }
            #expect(happened, "\(event) did not happen \(count) times: \(all)")
        }
    }

    final class Observer: WriteBatchObserver {
        let name: String
        let log: Log
        init(_ name: String, _ log: Log) { self.name = name; self.log = log }
        func batchStarting() { log.add(name + "+") }
        func batchFinished() { log.add(name) }
    }

    static func put(_ writer: Writer, _ environment: Environment, _ key: String) -> WriteTicket<Void> {
        writer.enqueue { txn in _ = try txn.put(Array(key.utf8), forKey: Array(key.utf8), in: environment["t"]) }
    }

    @Test("each observer hears once per batch before the callbacks registered with it, and once after them all")
    func oncePerBatchAfterItsCallbacks() async throws {
        try await WriterGatherTests.withWriter { environment, writer in
            let log = Log()
            let a = Observer("A", log), b = Observer("B", log)
            // Three puts in a batch that waits (30 s window) for a fourth caller.
            let early = try await WriterGatherTests.gatheringBatch(writer, environment, keys: ["k0", "k1", "k2"])
            for (index, ticket) in early.enumerated() {
                ticket.whenComplete(observer: index == 1 ? b : a) { _ in log.add("cb\(index)") }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(log.all.isEmpty, "told before the batch committed")
            let before = writer.batchCount
            // The fourth caller completes the batch. It has no callback: one registered after
            // its enqueue could find the batch already committed (and be told at once).
            _ = Self.put(writer, environment, "k3")
            try await log.wait(for: "A")
            try await log.wait(for: "B")
            let events = log.all
            #expect(writer.batchCount - before == 1, "the four puts did not share one batch")
            #expect(Set(events) == ["A+", "B+", "cb0", "cb1", "cb2", "A", "B"], "\(events)")
            for event in ["A+", "B+", "A", "B"] { #expect(events.filter { $0 == event }.count == 1, "\(events)") }
            let position = { (event: String) in try #require(events.firstIndex(of: event)) }
            for callback in ["cb0", "cb2"] {
                #expect(try position("A+") < position(callback) && position(callback) < position("A"), "\(events)")
            }
            #expect(try position("B+") < position("cb1") && position("cb1") < position("B"), "\(events)")

            // The next batch (which waits for the four callers of this one) tells it again;
            // again the caller that completes it has no callback.
            for index in 4..<7 {
                Self.put(writer, environment, "k\(index)").whenComplete(observer: a) { _ in log.add("cb\(index)") }
            }
            _ = Self.put(writer, environment, "k7")
            try await log.wait(for: "A", count: 2)
            let later = Array(log.all.dropFirst(events.count))
            #expect(later == ["A+", "cb4", "cb5", "cb6", "A"], "\(later)")
            #expect(writer.batchCount - before == 2)
        }
    }

    /// An observer that, as its batch starts, runs `onStart` (once) before it logs.
    final class Registering: WriteBatchObserver {
        let name: String
        let log: Log
        let onStart: Mutex<(@Sendable () -> Void)?>
        init(_ name: String, _ log: Log, onStart: @escaping @Sendable () -> Void) {
            self.name = name; self.log = log; self.onStart = Mutex(onStart)
        }
        func batchStarting() {
            onStart.withLock { body in defer { body = nil }; return body }?()
            log.add(name + "+")
        }
        func batchFinished() { log.add(name) }
    }

    @Test("a callback registered while its batch's observers are being told still has its observer told around it")
    func callbackRegisteredAsBatchStarts() async throws {
        try await WriterGatherTests.withWriter { environment, writer in
            let log = Log()
            let b = Observer("B", log)
            let last = Mutex<WriteTicket<Void>?>(nil)
            let stored = DispatchSemaphore(value: 0)
            // Released on every path: a failed expectation below must not leave the writer
            // thread waiting in A, and the writer's close waiting for it.
            defer { stored.signal() }
            // On the writer thread, once the batch has committed and A is told it starts: the
            // fourth put's callback is registered then, with B, which the writer has not seen.
            let a = Registering("A", log) {
                stored.wait()
                last.withLock { $0 }?.whenComplete(observer: b) { _ in log.add("cb3") }
            }
            let applied = WriterGatherTests.Counter()
            let early = try await WriterGatherTests.gatheringBatch(
                writer, environment, keys: ["k0", "k1", "k2"], applied: applied)
            for (index, ticket) in early.enumerated() {
                ticket.whenComplete(observer: a) { _ in log.add("cb\(index)") }
            }
            // Once the three are applied, their batch gathers and waits for a fourth caller.
            let gathering = try await eventually(within: 30) { applied.value == 3 }
            try #require(gathering, "the batch did not start")
            let before = writer.batchCount
            // The fourth caller completes the batch.
            last.withLock { $0 = Self.put(writer, environment, "k3") }
            stored.signal()
            // A is told last of all: whatever B hears of this batch, it has heard by then.
            try await log.wait(for: "A")
            let events = log.all
            #expect(writer.batchCount - before == 1, "the four puts did not share one batch")
            for event in ["B+", "cb3", "B"] { #expect(events.filter { $0 == event }.count == 1, "\(events)") }
            let position = { (event: String) in try #require(events.firstIndex(of: event)) }
            // Else the outcome the callback handed to B waits, unseen, for B's next batch.
            #expect(try position("B+") < position("cb3") && position("cb3") < position("B"), "\(events)")
        }
    }

    @Test("an observer is told as soon as the first outcome of its callbacks is settled, before the batch's later outcomes")
    func toldBeforeOutcomesSettle() async throws {
        try await WriterGatherTests.withWriter { environment, writer in
            let log = Log()
            let b = Observer("B", log)
            let last = Mutex<WriteTicket<Void>?>(nil)
            // On the writer thread, as A is told the batch starts: the fourth put's callback is
            // registered then. Its outcome not settled yet, the callback must wait for the
            // writer to run it, instead of running at once inside `whenComplete`.
            let a = Registering("A", log) {
                last.withLock { $0 }?.whenComplete(observer: b) { _ in log.add("cb3") }
                log.add("registered")
            }
            // The gate holds the writer while the first three are queued and their callbacks
            // registered, so that each is waiting when its outcome is settled.
            let applied = WriterGatherTests.Counter()
            _ = try await WriterGatherTests.gatheringBatch(
                writer, environment, keys: ["k0", "k1", "k2"], applied: applied
            ) { tickets in
                for (index, ticket) in tickets.enumerated() {
                    ticket.whenComplete(observer: a) { _ in log.add("cb\(index)") }
                }
            }
            // The batch after the gate applies the three and waits for a fourth caller.
            let gathering = try await eventually(within: 30) { applied.value == 3 }
            try #require(gathering, "the batch did not start")
            last.withLock { $0 = Self.put(writer, environment, "k3") }
            try await log.wait(for: "B")
            try await log.wait(for: "A")
            let events = log.all
            let position = { (event: String) in try #require(events.firstIndex(of: event)) }
            // A is told before anything else of the batch happens (its `onStart` logs first).
            #expect(Array(events.prefix(2)) == ["registered", "A+"], "\(events)")
            #expect(try position("registered") < position("cb3"), "the fourth outcome was settled before A was told: \(events)")
            #expect(try position("B+") < position("cb3") && position("cb3") < position("B"), "\(events)")
            for event in ["A+", "A", "B+", "B", "cb0", "cb1", "cb2", "cb3"] {
                #expect(events.filter { $0 == event }.count == 1, "\(events)")
            }
        }
    }

    @Test("an outcome known when the callback is registered runs it and tells the observer at once")
    func knownOutcomeTellsAtOnce() async throws {
        try await WriterGatherTests.withWriter { environment, writer in
            writer.close()
            let log = Log()
            Self.put(writer, environment, "late").whenComplete(observer: Observer("A", log)) { result in
                if case .failure(VaultError.unavailable) = result { log.add("refused") } else { log.add("unexpected \(result)") }
            }
            // On this thread, before whenComplete returned.
            #expect(log.all == ["A+", "refused", "A"])
        }
    }

    @Test("a job whose batch fails still has its callback run and its observer told")
    func failedBatchTells() async throws {
        // A map too small for the value, that may not grow: the batch fails with a storage error.
        try await withTemporaryDirectory { dir in
            var options = Environment.Options()
            options.initialMapSize = 64 << 10
            options.maximumMapSize = 64 << 10
            options.durable = false
            let environment = try Environment(path: dir + "/store", databases: ["t"], options: options)
            let writer = Writer(environment: environment, maxBatch: 512)
            defer { writer.close() }
            let log = Log()
            let big = [UInt8](repeating: 7, count: 1 << 20)
            writer.enqueue { txn in _ = try txn.put(big, forKey: [1], in: environment["t"]) }
                .whenComplete(observer: Observer("A", log)) { result in
                    if case .failure(VaultError.unavailable) = result { log.add("failed") } else { log.add("unexpected \(result)") }
                }
            try await log.wait(for: "A")
            #expect(log.all == ["A+", "failed", "A"])
        }
    }
}
