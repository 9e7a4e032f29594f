import Foundation
import Synchronization
import Testing
import TranscriptStorage
import TranscriptTestSupport
@testable import TranscriptVault

/// Once concurrency has been seen, a batch waits a little for the callers about to come back,
/// applying each as it arrives (so the wait overlaps their work), and commits them together.
/// The window here is 30 s, so that what joins a batch never depends on the machine's speed.
@Suite("Writer: gathering a batch")
struct WriterGatherTests {
    static let window: TimeInterval = 30

    /// An environment with one database, `t`, and a writer with the long window.
    static func withWriter(mapSize: Int = 1 << 20, _ body: (Environment, Writer) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            var options = Environment.Options()
            options.initialMapSize = mapSize
            options.durable = false
            let environment = try Environment(path: dir + "/store", databases: ["t"], options: options)
            let writer = Writer(environment: environment, maxBatch: 512, gatherWindow: window)
            do {
                try await body(environment, writer)
            } catch {
                writer.close()
                throw error
            }
            writer.close()
        }
    }

    /// Queues the gate, then `count` puts behind it, and opens the gate: the writer commits the
    /// gate alone and expects `count` + 1 callers in the batch after it, which takes the puts
    /// and waits for one more. Returns the puts' tickets.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func add() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// Each put counts itself in `applied` when it runs; `beforeOpening` gets the puts' tickets
    /// while the gate still holds the writer (to register callbacks before any put runs).
    static func gatheringBatch(
        _ writer: Writer, _ environment: Environment, keys: [String], applied: Counter? = nil,
        beforeOpening: ([WriteTicket<Void>]) -> Void = { _ in }
    ) async throws -> [WriteTicket<Void>] {
        let gate = try await WriterGate(writer)
        let tickets = keys.map { key in
            writer.enqueue { txn in
                applied?.add()
                _ = try txn.put(Array(key.utf8), forKey: Array(key.utf8), in: environment["t"])
            }
        }
        beforeOpening(tickets)
        gate.open()
        return tickets
    }

    static func stored(_ environment: Environment, _ key: String) throws -> [UInt8]? {
        try environment.read { try $0.value(in: environment["t"], forKey: Array(key.utf8)) }
    }

    @Test("jobs are applied as they arrive while a batch gathers, and committed together; none is answered before the commit")
    func lateJobJoinsBatch() async throws {
        try await Self.withWriter { environment, writer in
            let applied = Counter()
            let early = try await Self.gatheringBatch(writer, environment, keys: ["a", "b", "c"], applied: applied)
            let answered = Atomic<Int>(0)
            for ticket in early { ticket.whenComplete { _ in answered.add(1, ordering: .relaxed) } }
            // The batch holds a, b and c in its open transaction and waits for a fourth caller.
            try await Task.sleep(for: .milliseconds(200))
            #expect(applied.value == 3, "the jobs waited for the whole batch before running")
            #expect(answered.load(ordering: .relaxed) == 0, "answered before the batch committed")
            #expect(try Self.stored(environment, "a") == nil, "visible before the batch committed")
            let before = writer.batchCount
            let late = writer.enqueue { txn in _ = try txn.put(Array("d".utf8), forKey: Array("d".utf8), in: environment["t"]) }
            for ticket in early + [late] { try await ticket.value() }
            #expect(writer.batchCount - before == 1, "the late job did not share the batch's commit")
            for key in ["a", "b", "c", "d"] {
                #expect(try Self.stored(environment, key) == Array(key.utf8))
            }
        }
    }

    @Test("a late job that fills the map grows it; the batch runs again and every job commits once")
    func lateJobGrowsMap() async throws {
        try await Self.withWriter(mapSize: 256 << 10) { environment, writer in
            let mapBefore = environment.mapSize
            let runs = Atomic<Int>(0)
            let gate = try await WriterGate(writer)
            let first = writer.enqueue { txn in
                runs.add(1, ordering: .relaxed)
                _ = try txn.put(Array("small".utf8), forKey: Array("first".utf8), in: environment["t"])
            }
            gate.open()
            try await Task.sleep(for: .milliseconds(100))
            let large = [UInt8](repeating: 7, count: 1 << 20)
            let second = writer.enqueue { txn in _ = try txn.put(large, forKey: Array("second".utf8), in: environment["t"]) }
            try await first.value()
            try await second.value()
            #expect(environment.mapSize > mapBefore, "the map did not grow")
            #expect(runs.load(ordering: .relaxed) >= 2, "the first job was not run again after the growth")
            #expect(try Self.stored(environment, "first") == Array("small".utf8))
            #expect(try Self.stored(environment, "second") == large)
        }
    }

    @Test("a caller that is back before the writer looks again is not counted twice, so a lone caller never waits")
    func loneCallerBackAtOnce() async throws {
        try await Self.withWriter { environment, writer in
            // The first job's caller queues its next job from the completion callback, which runs
            // on the writer thread before the writer looks at its queue again: a lone caller
            // that is back at once. Counted twice, it would make the next batch wait for a
            // second caller, up to the 30 s window.
            // The wait is timed on the writer thread, from the next job's enqueue to its commit,
            // so that a starved cooperative pool (a loaded machine) does not count.
            let waited = Mutex<Duration?>(nil)
            let (done, finished) = AsyncStream.makeStream(of: Result<Void, any Error>.self)
            let first = writer.enqueue { txn in _ = try txn.put([1], forKey: [1], in: environment["t"]) }
            // (A ticket has one waiter: the callbacks are these.)
            first.whenComplete { _ in
                let queuedAt = ContinuousClock.now
                let next = writer.enqueue { txn in _ = try txn.put([2], forKey: [2], in: environment["t"]) }
                next.whenComplete { result in
                    waited.withLock { $0 = ContinuousClock.now - queuedAt }
                    finished.yield(result)
                    finished.finish()
                }
            }
            for await result in done { try result.get() }
            let wait = try #require(waited.withLock { $0 })
            #expect(wait < .seconds(Self.window / 2), "the lone caller's next job waited for the window")
            #expect(try environment.read { try $0.value(in: environment["t"], forKey: [2]) } == [2])
        }
    }

    @Test("closing the writer ends a gathering batch: its jobs commit, later ones are refused")
    func closeEndsGathering() async throws {
        try await Self.withWriter { environment, writer in
            let early = try await Self.gatheringBatch(writer, environment, keys: ["x", "y"])
            try await Task.sleep(for: .milliseconds(100))
            // close() waits for the writer thread, which is gathering: off the cooperative pool.
            async let closing: Void = offload { writer.close() }
            for ticket in early { try await ticket.value() }
            try await closing
            #expect(try Self.stored(environment, "x") == Array("x".utf8))
            #expect(try Self.stored(environment, "y") == Array("y".utf8))
            await #expect(throws: VaultError.self) {
                try await writer.submit { txn in _ = try txn.put([1], forKey: [1], in: environment["t"]) }
            }
        }
    }
}
