import CTranscriptLMDB
import Foundation
import Glibc
import Synchronization
import Testing
@testable import TranscriptStorage
import TranscriptTestSupport

/// Carried writes (``Environment/write(carrying:_:)``): durable in the redo log when they
/// return, committed to LMDB later, by ``Environment/publish()``, by a write that does not carry,
/// or when the log or the map needs it. Readers on other threads never miss one; a carried
/// transaction that is lost is applied again; when even that fails, nothing that returned is lost.
///
/// A synchronous test runs on one thread throughout: the test body is the carrier, and readers
/// run on threads of their own (``BackgroundRead``). No assertion depends on timing; waits are
/// bounded only so that a broken build fails instead of hanging. Every test publishes before it
/// releases its environment (`defer { try? env.publish() }`), even when it fails half-way: an
/// environment released while it carries writes leaves LMDB's write lock dangling on the test's
/// thread, which crashes a later test (see ``onThreadOfItsOwn(_:)``).
@Suite("Environment: carried writes")
struct CarryTests {
    typealias Images = RedoLogTests

    /// How long a wait for another thread may take before the test gives up on it. It keeps a
    /// broken build from hanging the run; nothing is asserted about it.
    static let patience: Double = 10

    /// A `read` run on a thread of its own, as a reader other than the carrier would.
    final class BackgroundRead<T: Sendable>: Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let outcome = Mutex<Result<T, any Error>?>(nil)

        init(_ env: Environment, _ body: @escaping @Sendable (ReadTransaction) throws -> T) {
            let thread = Thread { [self] in
                let result = Result { try env.read(body) }
                outcome.withLock { $0 = result }
                done.signal()
            }
            thread.start()
        }

        /// Whether the read has returned (or thrown).
        var finished: Bool { outcome.withLock { $0 != nil } }

        /// The read's outcome, or `nil` when it has not returned within `seconds`.
        func result(within seconds: Double = CarryTests.patience) -> Result<T, any Error>? {
            guard done.wait(timeout: .now() + seconds) == .success else { return nil }
            done.signal()
            return outcome.withLock { $0 }
        }
    }

    /// Polls `condition` every millisecond until it holds or `seconds` pass; whether it held.
    static func waitUntil(within seconds: Double = patience, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(1000)
        }
        return true
    }

    static func value(_ key: String) -> [UInt8] { bytes("value of " + key) }

    /// `prefix-0`, `prefix-1`, … each with its ``value(_:)``.
    static func expected(_ prefix: String, _ count: Int) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { ("\(prefix)-\($0)", value("\(prefix)-\($0)")) })
    }

    /// `count` carrying writes, one value each, under `prefix-<n>` in `items`.
    static func carry(_ env: Environment, _ prefix: String, _ count: Int) throws {
        for index in 0..<count {
            let key = "\(prefix)-\(index)"
            try env.write(carrying: true) { txn in try txn.put(value(key), forKey: bytes(key), in: env["items"]) }
        }
    }

    /// The values under `keys` in `items` that exist, read in one snapshot.
    static func values(_ keys: [String], in txn: ReadTransaction, _ env: Environment) throws -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        for key in keys {
            if let value = try txn.value(in: env["items"], forKey: bytes(key)) { found[key] = value }
        }
        return found
    }

    /// Reads `keys` on another thread.
    static func readElsewhere(_ env: Environment, _ keys: [String]) -> BackgroundRead<[String: [UInt8]]> {
        BackgroundRead(env) { txn in try values(keys, in: txn, env) }
    }

    /// Reads `keys` on this thread (on the carrier, `read` publishes the carried writes first,
    /// except inside a write).
    static func readHere(_ env: Environment, _ keys: [String]) throws -> [String: [UInt8]] {
        try env.read { txn in try values(keys, in: txn, env) }
    }

    /// Entries of `items` only, as ``RedoLogTests/entries(of:options:)`` returns them.
    static func items(_ entries: [String: [UInt8]]) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: entries.compactMap { entry in
            entry.key.hasPrefix("items/") ? (String(entry.key.dropFirst("items/".count)), entry.value) : nil
        })
    }

    /// Replaces `mdb_txn_commit` through ``Environment/commitTransaction``: the next
    /// `failures` commits fail with `EIO` (`Int.max`: every one), the others commit.
    ///
    /// A failing commit aborts the transaction itself and then reports `EIO`, as a real failed
    /// `mdb_txn_commit` does (it frees the transaction and releases the write lock). The other
    /// fake, committing and then reporting a failure anyway, is not sound here: the "lost"
    /// writes would be in the map all the same, and a restore that applies nothing would pass.
    /// A fake that neither commits nor aborts would leak the transaction, still holding LMDB's
    /// write lock, and the next `mdb_txn_begin` would deadlock.
    final class FailingCommits: @unchecked Sendable {
        // Touched only by the carrying thread (the only one that commits in these tests).
        private var failures = 0
        /// Commits tried, and how many of them failed, since the last ``failNext(_:)``.
        private(set) var calls = 0
        private(set) var failed = 0

        /// Installs the hook, before any write (as ``Environment/commitTransaction`` asks);
        /// until ``failNext(_:)`` every commit goes through.
        init(_ env: Environment) {
            let original = env.commitTransaction
            env.commitTransaction = { [self] txn in
                calls += 1
                guard failures > 0 else { return original(txn) }
                if failures != Int.max { failures -= 1 }
                failed += 1
                mdb_txn_abort(txn)
                return EIO
            }
        }

        /// Makes the next `count` commits fail (`Int.max`: every one), and counts from zero.
        func failNext(_ count: Int) {
            failures = count
            calls = 0
            failed = 0
        }
    }

    /// A closure for a thread of its own (`pthread_create` takes a C function and one pointer).
    final class ThreadBody: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` on a thread of its own and returns once that thread has ended (joined).
    ///
    /// For environments released while they carry writes: LMDB's write lock, a robust mutex in
    /// `lock.mdb`, then stays held by the carrying thread after the file is unmapped, and the
    /// next robust mutex that thread locks (any LMDB transaction) writes into the unmapped
    /// page and crashes the process (see ``bugReleasedWhileCarryingKeepsWriteLock()``). Test
    /// threads live on; a thread that ends takes the dangling lock with it.
    static func onThreadOfItsOwn(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed")
        pthread_join(thread, nil)
    }

    /// The magic number of `directory/store/lock.mdb` and the first word of LMDB's writer mutex
    /// in it: the owner's thread id while the write lock is held, zero when it is free.
    ///
    /// LMDB 0.9's layout (`MDB_txninfo`): the magic at 0, then the header padded to a 64-byte
    /// cache line, then the writer's `pthread_mutex_t`, whose first field is the glibc lock word.
    static func writeLockWord(_ directory: String) throws -> (magic: UInt32, word: Int32) {
        let lockFile = try Images.file(directory, "lock.mdb")
        guard lockFile.count >= 68 else { return (0, 0) }
        return lockFile.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self), raw.loadUnaligned(fromByteOffset: 64, as: Int32.self))
        }
    }

    /// LMDB's lock-file magic (`MDB_MAGIC`).
    static let lockMagic: UInt32 = 0xBEEF_C0DE

    // MARK: Publication

    @Test("carried writes stay uncommitted until published: a reader on another thread waits for them, then sees them all")
    func readersWaitForPublication() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try env.write { txn in try txn.put(bytes("committed"), forKey: bytes("base"), in: env["items"]) }
            #expect(!env.isCarrying)
            try Self.carry(env, "c", 3)
            #expect(env.isCarrying)
            var expected = Self.expected("c", 3)
            expected["base"] = bytes("committed")
            let keys = expected.keys.sorted()

            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested }, "no reader asked for publication")
            // The reader is in the wait that only publication ends: it must not have returned.
            #expect(!reader.finished, "a reader returned while writes were carried")
            #expect(env.isCarrying)

            try env.publish()
            #expect(!env.isCarrying)
            #expect(!env.publicationRequested)
            let result = try #require(reader.result(), "the reader did not return after publish()")
            #expect(try result.get() == expected)
        }
    }

    @Test("a read on the carrying thread commits the carried writes itself and sees them, waking a reader that waited")
    func readOnCarrierPublishes() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let keys = Self.expected("c", 3).keys.sorted()
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested })
            #expect(!reader.finished)

            #expect(try Self.readHere(env, keys) == Self.expected("c", 3))
            #expect(!env.isCarrying)
            let result = try #require(reader.result(), "the waiting reader was not woken")
            #expect(try result.get() == Self.expected("c", 3))
        }
    }

    @Test("a read on the carrying thread inside a write sees only what was committed before, and leaves the writes carried")
    func readInsideWriteOnCarrier() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try env.write { txn in try txn.put(bytes("committed"), forKey: bytes("base"), in: env["items"]) }
            try Self.carry(env, "c", 2)
            try #require(env.isCarrying)
            let seen = try env.write(carrying: true) { txn in
                try txn.put(Self.value("c-2"), forKey: bytes("c-2"), in: env["items"])
                return try Self.readHere(env, ["base", "c-0", "c-1", "c-2"])
            }
            #expect(seen == ["base": bytes("committed")])
            #expect(env.isCarrying)
            try env.publish()
            #expect(try Self.readHere(env, ["c-0", "c-1", "c-2"]) == Self.expected("c", 3))
        }
    }

    @Test("a reader on another thread with nothing carried does not wait")
    func readersDoNotWaitWithoutCarriedWrites() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 2)
            try env.publish()
            let result = try #require(Self.readElsewhere(env, ["c-0", "c-1"]).result(), "a reader waited with nothing carried")
            #expect(try result.get() == Self.expected("c", 2))
            #expect(!env.publicationRequested)
        }
    }

    // MARK: Crash while carrying

    @Test("a process crash while writes are carried loses none of them: the next open applies them from the log")
    func processCrashWhileCarrying() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try env.write { txn in try txn.put(bytes("committed"), forKey: bytes("base"), in: env["items"]) }
            try Self.carry(env, "c", 5)
            try #require(env.isCarrying)
            let dataFile = try Images.file(directory, "data.mdb")
            let log = try Images.file(directory, "redo.log")
            try env.publish()

            var expected = Self.expected("c", 5)
            expected["base"] = bytes("committed")
            // Not committed: data.mdb alone lacks them, only the log has them.
            #expect(try Self.items(Images.entries(of: Images.image(dataFile: dataFile, log: nil))) == ["base": bytes("committed")])
            #expect(try Self.items(Images.entries(of: Images.image(dataFile: dataFile, log: log))) == expected)
        }
    }

    @Test("an environment released with writes still carried leaves them in the log, and the next open applies them")
    func releasedWhileCarrying() throws {
        try withTemporaryDirectory { directory in
            final class Seen: @unchecked Sendable { var carrying = false }
            let seen = Seen()
            // The carrier ends with the environment (see onThreadOfItsOwn).
            Self.onThreadOfItsOwn {
                guard let env = try? openEnvironment(in: directory, options: Images.durable()) else { return }
                do { try Self.carry(env, "c", 3) } catch { return }
                seen.carrying = env.isCarrying
            }
            try #require(seen.carrying)
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            #expect(try Self.readHere(env, ["c-0", "c-1", "c-2"]) == Self.expected("c", 3))
        }
    }

    // MARK: Limits

    @Test("with maxCarriedWrites 4, four writes are carried and the fifth commits all five; the next carrying write starts a new chain")
    func maxCarriedWritesBoundary() throws {
        try withTemporaryDirectory { directory in
            var options = Images.durable()
            options.maxCarriedWrites = 4
            let env = try openEnvironment(in: directory, options: options)
            defer { try? env.publish() }
            for index in 0..<4 {
                #expect(!env.isPublicationDue, "publication due with \(index) writes carried")
                let key = "c-\(index)"
                try env.write(carrying: true) { txn in try txn.put(Self.value(key), forKey: bytes(key), in: env["items"]) }
                #expect(env.isCarrying, "write \(index + 1) of 4 was not carried")
            }
            #expect(env.isPublicationDue)
            try env.write(carrying: true) { txn in try txn.put(Self.value("c-4"), forKey: bytes("c-4"), in: env["items"]) }
            #expect(!env.isCarrying, "the fifth write did not commit")
            #expect(!env.isPublicationDue)
            // Committed: another thread does not wait.
            let keys = Self.expected("c", 5).keys.sorted()
            let reader = Self.readElsewhere(env, keys)
            let result = reader.result()
            #expect(result != nil, "a reader waited after the fifth write")
            if result == nil { try env.publish() }
            #expect(try reader.result()?.get() == Self.expected("c", 5))

            try env.write(carrying: true) { txn in try txn.put(Self.value("d-0"), forKey: bytes("d-0"), in: env["items"]) }
            #expect(env.isCarrying, "a carrying write after the commit was not carried")
            try env.publish()
        }
    }

    @Test("with maxCarriedWrites 0, no write is carried")
    func maxCarriedWritesZero() throws {
        try withTemporaryDirectory { directory in
            var options = Images.durable()
            options.maxCarriedWrites = 0
            let env = try openEnvironment(in: directory, options: options)
            defer { try? env.publish() }
            for index in 0..<3 {
                let key = "c-\(index)"
                try env.write(carrying: true) { txn in try txn.put(Self.value(key), forKey: bytes(key), in: env["items"]) }
                #expect(!env.isCarrying)
            }
            let result = try #require(Self.readElsewhere(env, ["c-0", "c-1", "c-2"]).result(), "a reader waited")
            #expect(try result.get() == Self.expected("c", 3))
        }
    }

    // MARK: Losing the carried transaction

    @Test("a carrying write whose body throws loses only itself: the writes carried before it are committed and visible everywhere")
    func throwingBodyKeepsCarriedWrites() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let keys = ["c-0", "c-1", "c-2", "failed"]
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested })
            #expect(throws: Refused.self) {
                try env.write(carrying: true) { txn in
                    try txn.put(bytes("never"), forKey: bytes("failed"), in: env["items"])
                    try txn.delete(forKey: bytes("c-0"), in: env["items"])
                    throw Refused()
                }
            }
            #expect(!env.isCarrying)
            let result = try #require(reader.result(), "the waiting reader was not woken when the writes were applied again")
            #expect(try result.get() == Self.expected("c", 3))
            #expect(try Self.readHere(env, keys) == Self.expected("c", 3))
            // The failed write is in neither data.mdb nor the log.
            #expect(try Self.items(Images.entries(of: Images.processCrashImage(directory))) == Self.expected("c", 3))
            // The environment goes on carrying.
            try Self.carry(env, "d", 2)
            #expect(env.isCarrying)
            try env.publish()
            #expect(try Self.readHere(env, keys + ["d-0", "d-1"]).count == 5)
        }
    }

    @Test("a non-carrying write on the carrying thread whose body throws also keeps the carried writes")
    func throwingPlainWriteKeepsCarriedWrites() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 2)
            try #require(env.isCarrying)
            #expect(throws: Refused.self) {
                try env.write { txn in
                    try txn.put(bytes("never"), forKey: bytes("failed"), in: env["items"])
                    throw Refused()
                }
            }
            #expect(!env.isCarrying)
            let result = try #require(Self.readElsewhere(env, ["c-0", "c-1", "failed"]).result(), "a reader waited")
            #expect(try result.get() == Self.expected("c", 2))
        }
    }

    @Test("without durability, writes are carried and published the same way, and applied again from memory when a later write throws")
    func nonDurableCarries() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: testOptions())
            defer { try? env.publish() }
            try Self.carry(env, "c", 2)
            #expect(env.isCarrying)
            let keys = ["c-0", "c-1", "failed"]
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested })
            #expect(!reader.finished)
            #expect(throws: Refused.self) {
                try env.write(carrying: true) { txn in
                    try txn.put(bytes("never"), forKey: bytes("failed"), in: env["items"])
                    throw Refused()
                }
            }
            #expect(!env.isCarrying)
            let result = try #require(reader.result(), "the waiting reader was not woken")
            #expect(try result.get() == Self.expected("c", 2))
        }
    }

    @Test("a carrying write that fills the map grows it and runs again, keeping the writes carried before it", arguments: [
        (1 << 20, 1536 << 10),   // the value is larger than the log's room: committed, then checkpointed
        (256 << 10, 230 << 10),  // the value fits in the log's room
    ])
    func mapFullWhileCarrying(mapSize: Int, valueSize: Int) throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: mapSize))
            defer { try? env.publish() }
            let initialMapSize = env.mapSize
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying, "nothing carried: the map would not fill while carrying")
            let big = [UInt8](repeating: 0xB6, count: valueSize)
            var runs = 0
            try env.write(carrying: true) { txn in
                runs += 1
                try txn.put(big, forKey: bytes("big"), in: env["items"])
            }
            try #require(runs >= 2, "the map did not fill: the body ran once")
            #expect(env.mapSize > initialMapSize)

            var expected = Self.expected("c", 3)
            expected["big"] = big
            let keys = expected.keys.sorted()
            #expect(try Self.items(Images.entries(of: Images.processCrashImage(directory))) == expected)
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { reader.finished || env.publicationRequested })
            try env.publish()
            let result = try #require(reader.result())
            #expect(try result.get() == expected)
        }
    }

    @Test("a commit that fails at publish() is applied again from the carried records, and readers see every carried write")
    func failedCommitAtPublishIsRestored() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            let commits = FailingCommits(env)
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let keys = Self.expected("c", 3).keys.sorted()
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested })

            commits.failNext(1)
            try env.publish()
            #expect(commits.failed == 1, "the hook did not fail the commit: nothing was restored")
            #expect(commits.calls == 2, "the carried records were not committed again")
            #expect(!env.isCarrying)
            let result = try #require(reader.result(), "the waiting reader was not woken")
            #expect(try result.get() == Self.expected("c", 3))
            // Still usable.
            try env.write { txn in try txn.put(bytes("after"), forKey: bytes("after"), in: env["items"]) }
            #expect(try Self.readHere(env, keys + ["after"]).count == 4)
        }
    }

    @Test("a commit that fails after the carried writes revokes the failed write and applies the carried ones again")
    func failedCommitOfLaterWriteIsRestored() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            let commits = FailingCommits(env)
            try Self.carry(env, "c", 2)
            try #require(env.isCarrying)
            commits.failNext(1)
            // A write that does not carry commits the chain; that commit fails.
            #expect(throws: LMDBError(code: EIO)) {
                try env.write { txn in try txn.put(bytes("lost"), forKey: bytes("third"), in: env["items"]) }
            }
            #expect(commits.failed == 1)
            #expect(!env.isCarrying)
            let keys = ["c-0", "c-1", "third"]
            let result = try #require(Self.readElsewhere(env, keys).result(), "a reader waited")
            #expect(try result.get() == Self.expected("c", 2))
            // The failed write is not in the log either: a crash does not bring it back.
            #expect(try Self.items(Images.entries(of: Images.processCrashImage(directory))) == Self.expected("c", 2))
        }
    }

    @Test("when the carried writes cannot be committed even when applied again, reads and writes throw EIO, and the next open restores every carried write")
    func brokenUntilReopened() throws {
        try withTemporaryDirectory { directory in
            var expected = Self.expected("c", 3)
            expected["base"] = bytes("committed")
            let keys = expected.keys.sorted()
            do {
                let env = try openEnvironment(in: directory, options: Images.durable())
                    defer { try? env.publish() }
                let commits = FailingCommits(env)
                try env.write { txn in try txn.put(bytes("committed"), forKey: bytes("base"), in: env["items"]) }
                try Self.carry(env, "c", 3)
                try #require(env.isCarrying)
                let waiting = Self.readElsewhere(env, keys)
                #expect(Self.waitUntil { env.publicationRequested })

                commits.failNext(.max)
                #expect(throws: LMDBError(code: EIO)) { try env.publish() }
                #expect(commits.failed == 2, "expected the commit, and that of the records applied again, to fail")
                #expect(!env.isCarrying)

                // The reader that waited, and a new one, fail instead of seeing a store without them.
                let woken = try #require(waiting.result(), "the waiting reader was not woken")
                #expect(throws: LMDBError(code: EIO)) { try woken.get() }
                let later = try #require(Self.readElsewhere(env, keys).result(), "a reader waited on a broken environment")
                #expect(throws: LMDBError(code: EIO)) { try later.get() }
                // Writes fail, carrying or not, and whether or not they write anything.
                #expect(throws: LMDBError(code: EIO)) {
                    try env.write { txn in try txn.put(bytes("x"), forKey: bytes("x"), in: env["items"]) }
                }
                #expect(throws: LMDBError(code: EIO)) {
                    try env.write(carrying: true) { txn in try txn.put(bytes("x"), forKey: bytes("x"), in: env["items"]) }
                }
                #expect(throws: LMDBError(code: EIO)) { try env.write { _ in } }
                // No commit was even tried.
                #expect(commits.calls == 2)
            }
            let reopened = try openEnvironment(in: directory, options: Images.durable())
            #expect(try Self.readHere(reopened, keys + ["x"]) == expected)
        }
    }

    // MARK: Other ways to publish

    @Test("a non-carrying write on the carrying thread commits the carried writes with it, and wakes a reader that waited")
    func plainWritePublishes() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let keys = Self.expected("c", 4).keys.sorted()
            let reader = Self.readElsewhere(env, keys)
            #expect(Self.waitUntil { env.publicationRequested })
            #expect(!reader.finished)
            try env.write { txn in try txn.put(Self.value("c-3"), forKey: bytes("c-3"), in: env["items"]) }
            #expect(!env.isCarrying)
            #expect(!env.publicationRequested)
            let result = try #require(reader.result(), "the waiting reader was not woken by a non-carrying write")
            #expect(try result.get() == Self.expected("c", 4))
            // And without the carrier's help: another thread does not wait.
            let later = try #require(Self.readElsewhere(env, keys).result(), "a reader waited after a non-carrying write")
            #expect(try later.get() == Self.expected("c", 4))
        }
    }

    @Test("sync() on the carrier publishes the carried writes before its checkpoint, so a crash after it loses none")
    func syncPublishesFirst() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let generation = Images.newestGeneration(try Images.file(directory, "redo.log"))
            try env.sync()
            #expect(!env.isCarrying)
            // The checkpoint started a new generation: the records before it are stale.
            try #require(Images.newestGeneration(try Images.file(directory, "redo.log")) > generation)
            #expect(try Self.items(Images.entries(of: Images.processCrashImage(directory))) == Self.expected("c", 3))
            // data.mdb as sync() flushed it holds them without any record of the log.
            let dataFile = try Images.file(directory, "data.mdb")
            #expect(try Self.items(Images.entries(of: Images.image(dataFile: dataFile, log: nil))) == Self.expected("c", 3))
        }
    }

    @Test("a compacted copy made on the carrying thread holds the carried writes")
    func copyOnCarrierHoldsCarriedWrites() throws {
        // Compacted: LMDB's plain copy takes the write lock, which the carrier's open transaction
        // holds; a build that forgot to publish first would hang here instead of failing.
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 2)
            try #require(env.isCarrying)
            let destination = directory + "/copy"
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
            try env.copy(to: destination, compact: true)
            try env.publish()
            let copy = try Environment(path: destination, databases: testDatabases, options: testOptions())
            #expect(try Self.readHere(copy, ["c-0", "c-1"]) == Self.expected("c", 2))
        }
    }

    // MARK: Found by review: each failed before its fix

    @Test("a write that does not carry commits the carried writes even when it changes nothing, and a reader elsewhere goes on")
    func bugEmptyPlainWriteLeavesWritesCarried() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            try Self.carry(env, "c", 2)
            try #require(env.isCarrying)
            try env.write { txn in _ = try txn.value(in: env["items"], forKey: bytes("c-0")) }
            #expect(!env.isCarrying, "the carried writes are still carried after a write that does not carry")
            let reader = Self.readElsewhere(env, ["c-0", "c-1"])
            let result = reader.result()
            #expect(result != nil, "a reader waited after a write that does not carry")
            if result == nil { try env.publish(); _ = reader.result() }
        }
    }

    @Test("without durability, a write that does not carry is committed with the carried ones, and survives a later carrying write that throws")
    func bugNonDurablePlainWriteLostWithCarriedTransaction() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: testOptions())
            defer { try? env.publish() }
            try Self.carry(env, "c", 1)
            try #require(env.isCarrying)
            // Returns as committed.
            try env.write { txn in try txn.put(bytes("plain"), forKey: bytes("plain"), in: env["items"]) }
            #expect(!env.isCarrying, "a write that does not carry left the writes carried")
            #expect(throws: Refused.self) {
                try env.write(carrying: true) { _ in throw Refused() }
            }
            #expect(try Self.readHere(env, ["c-0", "plain"]) == ["c-0": Self.value("c-0"), "plain": bytes("plain")],
                    "a write that returned was lost")
        }
    }

    @Test("sync() on the carrying thread of a broken environment throws EIO and keeps the log records that are the carried writes' only durable copy")
    func bugSyncOnBrokenCarrierDropsLog() throws {
        try withTemporaryDirectory { directory in
            do {
                let env = try openEnvironment(in: directory, options: Images.durable())
                    defer { try? env.publish() }
                let commits = FailingCommits(env)
                try Self.carry(env, "c", 3)
                try #require(env.isCarrying)
                commits.failNext(.max)
                #expect(throws: LMDBError(code: EIO)) { try env.publish() }
                #expect(throws: LMDBError(code: EIO)) { try env.sync() }
            }
            let reopened = try openEnvironment(in: directory, options: Images.durable())
            #expect(try Self.readHere(reopened, ["c-0", "c-1", "c-2"]) == Self.expected("c", 3),
                    "writes that returned were lost")
        }
    }

    @Test("on a broken environment, read and copy on the carrying thread throw EIO instead of showing a snapshot without the carried writes")
    func bugBrokenReadOnCarrier() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            defer { try? env.publish() }
            let commits = FailingCommits(env)
            try Self.carry(env, "c", 3)
            commits.failNext(.max)
            #expect(throws: LMDBError(code: EIO)) { try env.publish() }
            #expect(throws: LMDBError(code: EIO)) { try Self.readHere(env, ["c-0"]) }
            let destination = directory + "/copy"
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
            #expect(throws: LMDBError(code: EIO)) { try env.copy(to: destination, compact: true) }
        }
    }

    @Test("an environment released on its carrying thread commits the carried writes and releases LMDB's write lock, which would otherwise dangle in an unmapped lock file")
    func bugReleasedWhileCarryingKeepsWriteLock() throws {
        try withTemporaryDirectory { directory in
            final class Words: @unchecked Sendable {
                var whileCarrying: (magic: UInt32, word: Int32)?
                var afterPublishing: (magic: UInt32, word: Int32)?
            }
            let words = Words()
            // Only on a thread that ends: on a test thread the dangling lock would crash a later test.
            Self.onThreadOfItsOwn {
                do {
                    let env = try openEnvironment(in: directory, options: Images.durable())
                    try Self.carry(env, "c", 2)
                    words.whileCarrying = try Self.writeLockWord(directory)
                    try env.publish()
                    words.afterPublishing = try Self.writeLockWord(directory)
                    try Self.carry(env, "d", 2)
                } catch {}
            }
            // The word read is the write lock's: held while carrying, free once published.
            let carrying = try #require(words.whileCarrying)
            let published = try #require(words.afterPublishing)
            try #require(carrying.magic == Self.lockMagic && carrying.word != 0 && published.word == 0,
                         "lock.mdb does not have LMDB 0.9's layout")
            let released = try Self.writeLockWord(directory)
            #expect(released.word == 0, "the write lock is still held by the thread that carried the writes")
        }
    }

    @Test("a carrying write that meets a full map while the carried writes fill it grows the map like any write and keeps every carried write", arguments: [
        // (committed pages before carrying, in KiB; puts per write; bytes per value): found by a
        // sweep, each made an earlier build fail at a write (EIO) or at publish() (map full).
        (340, 17, 450), (348, 16, 450), (348, 17, 350), (372, 12, 450),
    ])
    func bugMapFullWhileCarriedWritesFillIt(fillKiB: Int, putsPerWrite: Int, valueSize: Int) throws {
        try withTemporaryDirectory { directory in
            // Grown only once full, as every build did when the sweep found these cases.
            var options = Images.durable(initialMapSize: 512 << 10)
            options.growsBeforeFull = false
            let env = try openEnvironment(in: directory, options: options)
            defer { try? env.publish() }
            // Committed filler, each write checkpointed at once: the pages free and in use then
            // depend on these writes alone, never on how fast the log filled.
            var filler = 0
            while env.usage.usedBytes < fillKiB << 10 {
                try env.write { txn in
                    try txn.put([UInt8](repeating: 1, count: 16 << 10), forKey: bytes("fill-\(filler)"), in: env["items"])
                }
                try env.sync()
                filler += 1
            }
            let initialMapSize = env.mapSize
            // Carrying writes (default maxCarriedWrites) until one is not carried, as a writer would.
            var expected: [String: [UInt8]] = [:]
            var failure: (any Error)?
            for index in 0..<16 {
                let keys = (0..<putsPerWrite).map { "v-\(index * 97 % 46)-\($0)" }
                do {
                    try env.write(carrying: true) { txn in
                        for (slot, key) in keys.enumerated() {
                            try txn.put([UInt8](repeating: UInt8(slot), count: valueSize), forKey: bytes(key), in: env["items"])
                        }
                    }
                } catch {
                    failure = error
                    break
                }
                for (slot, key) in keys.enumerated() { expected[key] = [UInt8](repeating: UInt8(slot), count: valueSize) }
                if !env.isCarrying { break }
            }
            #expect(failure == nil, "a carrying write failed: \(String(describing: failure))")
            #expect(throws: Never.self) { try env.publish() }
            #expect(env.mapSize > initialMapSize, "the map did not grow (had it never filled, the case would test nothing)")
            let result = try #require(Self.readElsewhere(env, expected.keys.sorted()).result(), "a reader waited")
            #expect(throws: Never.self) { try result.get() }
            #expect((try? result.get()) == expected)
        }
    }

    @Test("a checkpoint while writes are carried (the map grew) keeps their records in the new log generation: a crash right after it loses none")
    func growthCheckpointKeepsCarriedRecords() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 1 << 20))
            defer { try? env.publish() }
            try Self.carry(env, "c", 3)
            try #require(env.isCarrying)
            let generation = Images.newestGeneration(try Images.file(directory, "redo.log"))
            // Every commit fails from here: the carried writes, lost with the transaction that
            // fills the map, cannot be applied again after the growth's checkpoint, and live on
            // only in the log that checkpoint started.
            let commits = FailingCommits(env)
            commits.failNext(.max)
            #expect(throws: LMDBError(code: EIO)) {
                try env.write(carrying: true) { txn in
                    for index in 0..<64 {
                        try txn.put([UInt8](repeating: 7, count: 64 << 10), forKey: bytes("big-\(index)"), in: env["items"])
                    }
                }
            }
            #expect(Images.newestGeneration(try Images.file(directory, "redo.log")) > generation, "the map grew without a checkpoint")
            #expect(try Self.items(Images.entries(of: Images.processCrashImage(directory))) == Self.expected("c", 3))
        }
    }
}
