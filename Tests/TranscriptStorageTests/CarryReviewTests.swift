import CTranscriptLMDB
import Foundation
import Glibc
import Synchronization
import Testing
@testable import TranscriptStorage
import TranscriptTestSupport

/// Review of carried writes: interleavings of the carrier with other threads (a `sync()`, a
/// write that does not carry, a growth) and a map that cannot grow any more.
///
/// Interleavings are forced, not hoped for: a thread is known to be blocked (in `mdb_txn_begin`,
/// or on the resize lock) when the kernel shows it asleep right after it announced the call.
/// Waits are bounded only so that a broken build fails instead of hanging.
@Suite("Environment: carried writes (review)")
struct CarryReviewTests {
    typealias Images = RedoLogTests
    typealias Carry = CarryTests

    static let patience: Double = 10

    /// A thread running `body`, whose kernel state can be watched.
    final class Probe: @unchecked Sendable {
        private let tid = Atomic<Int32>(0)
        private let started = Atomic<Bool>(false)
        private let done = DispatchSemaphore(value: 0)
        private let finishedFlag = Atomic<Bool>(false)

        init(_ body: @escaping @Sendable () -> Void) {
            let thread = Thread { [self] in
                // `/proc/thread-self` links to `<pid>/task/<tid>`.
                let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
                tid.store(Int32(link.split(separator: "/").last ?? "") ?? 0, ordering: .sequentiallyConsistent)
                started.store(true, ordering: .sequentiallyConsistent)
                body()
                finishedFlag.store(true, ordering: .sequentiallyConsistent)
                done.signal()
            }
            thread.start()
        }

        var finished: Bool { finishedFlag.load(ordering: .sequentiallyConsistent) }

        /// Whether the thread sleeps in the kernel (state `S`) on three looks a millisecond apart.
        private var asleep: Bool {
            guard started.load(ordering: .sequentiallyConsistent), tid.load(ordering: .sequentiallyConsistent) != 0 else { return false }
            for _ in 0..<3 {
                guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid.load(ordering: .sequentiallyConsistent))/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let state = stat[stat.index(close, offsetBy: 2)]
                if state != "S" { return false }
                usleep(1000)
            }
            return true
        }

        /// Waits until the thread is blocked (asleep, not finished); whether it is.
        func waitUntilBlocked(within seconds: Double = CarryReviewTests.patience) -> Bool {
            Carry.waitUntil(within: seconds) { !finished && asleep }
        }

        /// Waits until the thread has ended; whether it has.
        func join(within seconds: Double = CarryReviewTests.patience) -> Bool {
            guard done.wait(timeout: .now() + seconds) == .success else { return false }
            done.signal()
            return true
        }
    }

    final class Box<T>: @unchecked Sendable {
        var value: T
        init(_ value: T) { self.value = value }
    }

    /// Keeps `env` alive for good: after a deadlock its threads still use it.
    static func leak(_ env: Environment) { _ = Unmanaged.passRetained(env) }

    // MARK: A map that cannot grow

    @Test("a carried write whose successor meets a full map at its maximum size is neither lost nor left unpublished: readers elsewhere do not hang and see it")
    func mapAtMaximumWhileCarrying() throws {
        try withTemporaryDirectory { directory in
            var options = Images.durable(initialMapSize: 1 << 20)
            options.maximumMapSize = 1 << 20
            let env = try openEnvironment(in: directory, options: options)
            defer { try? env.publish() }
            try Carry.carry(env, "c", 3)
            try #require(env.isCarrying)
            // Larger than the map can ever be: the carried transaction is lost with it.
            #expect(throws: LMDBError.mapFull) {
                try env.write(carrying: true) { txn in
                    try txn.put([UInt8](repeating: 9, count: 2 << 20), forKey: bytes("big"), in: env["items"])
                }
            }
            let keys = Carry.expected("c", 3).keys.sorted()
            let reader = Carry.readElsewhere(env, keys)
            let first = reader.result()
            #expect(first != nil, "a reader on another thread hangs: the carried writes are neither carried nor published")
            // What the writer thread does next: another carrying write, then publish.
            try env.write(carrying: true) { txn in try txn.put(Carry.value("d-0"), forKey: bytes("d-0"), in: env["items"]) }
            try env.publish()
            _ = reader.result()
            var expected = Carry.expected("c", 3)
            expected["d-0"] = Carry.value("d-0")
            #expect(try Carry.readHere(env, keys + ["d-0"]) == expected, "writes that returned are gone from the store")
            try env.sync()
            #expect(try Carry.items(Images.entries(of: Images.processCrashImage(directory), options: options)) == expected,
                    "writes that returned are gone after a checkpoint")
        }
    }

    @Test("a carried write whose successor meets a full map whose growth's checkpoint fails is not lost, and readers elsewhere do not hang")
    func failedGrowthWhileCarrying() throws {
        try withTemporaryDirectory { directory in
            let options = Images.durable(initialMapSize: 256 << 10)
            let env = try openEnvironment(in: directory, options: options)
            defer { try? env.publish() }
            let failing = Atomic<Bool>(false)
            env.syncDataFile = { failing.load(ordering: .relaxed) ? EIO : mdb_env_sync($0, 1) }
            try Carry.carry(env, "c", 3)
            try #require(env.isCarrying)
            failing.store(true, ordering: .relaxed)
            // Larger than the map: the body meets the full map, and the carried transaction is lost.
            #expect(throws: (any Error).self) {
                try env.write(carrying: true) { txn in
                    try txn.put([UInt8](repeating: 9, count: 300 << 10), forKey: bytes("big"), in: env["items"])
                }
            }
            let keys = Carry.expected("c", 3).keys.sorted()
            let reader = Carry.readElsewhere(env, keys)
            let result = reader.result()
            #expect(result != nil, "a reader on another thread hangs after the failed growth")
            guard result != nil else {
                // Nothing can wake it: keep what it waits on alive.
                Self.leak(env)
                return
            }
            // Whatever the environment answers now, what returned must survive a reopen.
            try? env.publish()
            #expect(try Carry.items(Images.entries(of: Images.processCrashImage(directory), options: options)) == Carry.expected("c", 3))
        }
    }

    // MARK: Other threads while writes are carried

    @Test("sync() on another thread never starts a log generation without writes carried meanwhile: a crash right after it loses none")
    func syncElsewhereKeepsCarriedRecords() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Carry.carry(env, "c", 1)
            try env.publish()
            let holder = Box<Probe?>(nil)
            let syncer = Box<Probe?>(nil)
            let syncError = Box<(any Error)?>(nil)
            try env.write(carrying: true) { txn in
                try txn.put(Carry.value("k"), forKey: bytes("k"), in: env["items"])
                // A growth waits for this write's shared hold on the resize lock; a sync() started
                // now finds nothing carried yet and then queues behind the growth.
                let lock = Box(env.resizeLockPointer)
                holder.value = Probe {
                    pthread_rwlock_wrlock(lock.value)
                    pthread_rwlock_unlock(lock.value)
                }
                try #require(holder.value!.waitUntilBlocked(), "the exclusive locker did not block")
                syncer.value = Probe {
                    do { try env.sync() } catch { syncError.value = error }
                }
                try #require(syncer.value!.waitUntilBlocked(), "sync() did not block on the resize lock")
            }
            // (A fixed build may have committed it instead of carrying it, as sync() waits.)
            let syncing = try #require(syncer.value)
            // Either sync() waits for publication (it may not drop the record), or it has finished.
            #expect(Carry.waitUntil { syncing.finished || env.publicationRequested })
            var expected = Carry.expected("c", 1)
            expected["k"] = Carry.value("k")
            #expect(try Carry.items(Images.entries(of: Images.processCrashImage(directory))) == expected,
                    "a crash now loses a write that returned")
            try env.publish()
            #expect(syncing.join(), "sync() did not return after publication")
            #expect(syncError.value == nil)
            #expect(try Carry.items(Images.entries(of: Images.processCrashImage(directory))) == expected)
            #expect(holder.value!.join())
        }
    }

    @Test("a write on another thread that gets LMDB's write lock while the carried transaction is being restored sees the carried writes")
    func plainWriteElsewhereDuringRestoreSeesCarriedWrites() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 256 << 10))
            defer { try? env.publish() }
            try Carry.carry(env, "c", 1)
            try #require(env.isCarrying)
            let seen = Box<String?>(nil)
            let failure = Box<(any Error)?>(nil)
            // Started after c-0 returned: its transaction must see c-0.
            let writer = Probe {
                do {
                    try env.write { txn in
                        let saw = try txn.value(in: env["items"], forKey: bytes("c-0")) != nil
                        seen.value = saw ? "saw" : "missed"
                        try txn.put(bytes(saw ? "saw" : "missed"), forKey: bytes("n"), in: env["items"])
                    }
                } catch { failure.value = error }
            }
            // Blocked in mdb_txn_begin (LMDB's write lock is the carried transaction's).
            try #require(writer.waitUntilBlocked(), "the other write did not block")
            // Larger than the map: the body meets the full map, the carried transaction is aborted,
            // the map grows (waiting for the other write's shared hold on the resize lock), and
            // c-0 is applied again.
            try env.write(carrying: true) { txn in
                try txn.put([UInt8](repeating: 9, count: 300 << 10), forKey: bytes("big"), in: env["items"])
            }
            try env.publish()
            #expect(writer.join(), "the other write never finished")
            #expect(failure.value == nil)
            #expect(seen.value == "saw", "a write that started after c-0 returned did not see it")
            #expect(try Carry.readHere(env, ["c-0", "n"]) == ["c-0": Carry.value("c-0"), "n": bytes("saw")])
        }
    }

    @Test("a commit that fails at publish() while a write on another thread waits for LMDB's write lock does not deadlock")
    func failedPublishWithPlainWriteElsewhereDoesNotDeadlock() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            let bodyStarted = DispatchSemaphore(value: 0)
            let failNext = Atomic<Bool>(false)
            let original = env.commitTransaction
            env.commitTransaction = { txn in
                guard failNext.exchange(false, ordering: .sequentiallyConsistent) else { return original(txn) }
                mdb_txn_abort(txn)
                // Until the other write holds LMDB's write lock (its body runs), or waits for
                // publication instead.
                _ = Carry.waitUntil { env.publicationRequested || bodyStarted.wait(timeout: .now()) == .success }
                return EIO
            }
            // The carrier is a thread of its own, so that a deadlock leaves the test able to report it.
            let go = DispatchSemaphore(value: 0)
            let carried = DispatchSemaphore(value: 0)
            let carrierError = Box<(any Error)?>(nil)
            let carrier = Probe {
                do {
                    try Carry.carry(env, "c", 2)
                    carried.signal()
                    go.wait()
                    try env.publish()
                } catch { carrierError.value = error }
            }
            try #require(carried.wait(timeout: .now() + Self.patience) == .success)
            let otherError = Box<(any Error)?>(nil)
            let other = Probe {
                do {
                    try env.write { txn in
                        bodyStarted.signal()
                        try txn.put(bytes("n"), forKey: bytes("n"), in: env["items"])
                    }
                } catch { otherError.value = error }
            }
            _ = other.waitUntilBlocked()
            failNext.store(true, ordering: .sequentiallyConsistent)
            go.signal()
            let carrierDone = carrier.join()
            let otherDone = other.join()
            #expect(carrierDone, "publish() deadlocked")
            #expect(otherDone, "the write on another thread deadlocked")
            guard carrierDone && otherDone else {
                Self.leak(env)
                return
            }
            #expect(carrierError.value == nil)
            #expect(otherError.value == nil)
            var expected = Carry.expected("c", 2)
            expected["n"] = bytes("n")
            #expect(try Carry.readHere(env, ["c-0", "c-1", "n"]) == expected)
        }
    }

    @Test("a write on another thread that fills the map while writes are carried grows it without dropping their records or failing")
    func growthElsewhereWhileCarrying() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 256 << 10))
            // The carrier: a thread of its own, publishing on request.
            let begin = DispatchSemaphore(value: 0)
            let publishNow = DispatchSemaphore(value: 0)
            let carrierState = Box<(returned: Bool, error: (any Error)?)>((false, nil))
            let carrier = Probe {
                begin.wait()
                do {
                    try Carry.carry(env, "c", 1)
                    // Carried, or (a fixed build, as a growth waits) committed.
                    carrierState.value.returned = true
                    publishNow.wait()
                    try env.publish()
                } catch { carrierState.value.error = error }
            }
            let otherError = Box<(any Error)?>(nil)
            let runs = Atomic<Int>(0)
            let other = Probe {
                do {
                    try env.write { txn in
                        if runs.add(1, ordering: .sequentiallyConsistent).newValue == 1 {
                            // The carrier's write starts now and waits for LMDB's write lock.
                            begin.signal()
                            _ = carrier.waitUntilBlocked()
                        }
                        try txn.put([UInt8](repeating: 9, count: 230 << 10), forKey: bytes("big"), in: env["items"])
                    }
                } catch { otherError.value = error }
            }
            #expect(Carry.waitUntil { carrierState.value.returned || carrierState.value.error != nil })
            #expect(Carry.waitUntil { other.finished || env.publicationRequested })
            #expect(try Carry.items(Images.entries(of: Images.processCrashImage(directory))).keys.contains("c-0"),
                    "a crash now loses a write that returned")
            publishNow.signal()
            #expect(carrier.join())
            #expect(other.join())
            #expect(carrierState.value.error == nil)
            #expect(otherError.value == nil, "the growing write failed: \(String(describing: otherError.value))")
            let found = try Carry.readHere(env, ["c-0", "big"])
            #expect(found.keys.sorted() == ["big", "c-0"])
        }
    }
}
