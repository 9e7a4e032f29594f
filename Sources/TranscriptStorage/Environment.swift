internal import CTranscriptLMDB
internal import Glibc
import Synchronization

/// One LMDB environment: a directory holding `data.mdb` and `lock.mdb`, its named databases,
/// and the scoped transactions that reach them.
///
/// Reads may run on any thread at once (`MDB_NOTLS`); writes are serialised by LMDB and are
/// expected to come from one writer thread. A write that fills the map grows it and runs
/// again, so the caller never sees `MDB_MAP_FULL`.
///
/// ```swift
/// let env = try Environment(path: dir + "/store", databases: ["meta", "messages"])
/// try env.write { txn in try txn.put(value, forKey: key, in: env["messages"]) }
/// let copy = try env.read { txn in try txn.value(in: env["messages"], forKey: key) }
/// ```
public final class Environment: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `handle` and `databases` are set in init and never
    // change; the map size changes only under the exclusive side of `resizeLock`, which every
    // transaction holds shared for its whole life; the redo log, `pin` and `usedAtCheckpoint`
    // are touched only with `logLock` held; `carried`, `carriedRecords` and `carriedBytes` only
    // by the carrying thread (the one in `carrier`); `broken` only with `publication` held;
    // `syncDataFile` and `commitTransaction` are set only by tests, and
    // `onPublicationRequested` only by the carrier's owner, before any write.

    /// How an environment is opened.
    public struct Options: Sendable {
        /// The initial map size in bytes; it grows on demand.
        public var initialMapSize: Int = 64 << 20
        /// The largest the map may grow to.
        public var maximumMapSize: Int = 1 << 40
        /// The most reader slots (concurrent read transactions across processes).
        public var maxReaders: UInt32 = 510
        /// Whether commits are durable before they return: each is logged in `redo.log` and
        /// the log flushed (see ``Environment`` for the redo log). Turn off only for tests and
        /// benchmarks that measure the cost of durability: without it, writes carried in an open
        /// transaction (``Environment/write(carrying:_:)``) are lost even in a process crash.
        public var durable: Bool = true
        /// The most durable writes one LMDB transaction carries before it is committed (see
        /// ``Environment/write(carrying:_:)``); 0 carries none.
        public var maxCarriedWrites: Int = 16
        /// Whether the carrier grows the map, between writes, once it has less than its wanted
        /// room free (``wantedRoom(mapSize:)``), instead of when a write finds it full. Tests
        /// turn it off to reach a full map.
        public var growsBeforeFull: Bool = true

        public init() {}
    }

    let handle: OpaquePointer
    private let databases: [String: Database]
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>
    var resizeLockPointer: UnsafeMutablePointer<pthread_rwlock_t> { resizeLock }
    private let options: Options
    /// The directory of the environment.
    public let path: String
    /// `data.mdb`'s descriptor (LMDB's own).
    private let dataFile: Int32
    /// The redo log of a durable environment; `nil` without durability.
    private let redo: RedoLog?
    /// Guards the redo log, `pin` and `usedAtCheckpoint`: taken after `resizeLock`.
    private let logLock: UnsafeMutablePointer<pthread_mutex_t>
    /// A read transaction on the last checkpoint's snapshot, so that LMDB reuses none of its
    /// pages until the next checkpoint (see ``RedoLog``).
    private var pin: OpaquePointer?
    /// The bytes of pages in use at the last checkpoint.
    private var usedAtCheckpoint = 0
    /// Starts the kernel writing `data.mdb`'s pages between checkpoints (durable only).
    private let writeback: Writeback?
    /// Flushes `data.mdb` at a checkpoint (`mdb_env_sync`); tests replace it, before any
    /// write, to make it fail.
    var syncDataFile: (OpaquePointer) -> Int32 = { mdb_env_sync($0, 1) }
    /// Called at each step of a checkpoint that keeps carried records (see
    /// ``RedoLog/KeepingStep``); tests set it, before any write, to take a crash image there.
    var checkpointKeepingStep: ((RedoLog.KeepingStep) -> Void)? {
        get { redo?.keepingStep }
        set { redo?.keepingStep = newValue }
    }
    /// Commits a write transaction (`mdb_txn_commit`); tests replace it, before any write, to
    /// make it fail.
    var commitTransaction: (OpaquePointer) -> Int32 = { mdb_txn_commit($0) }

    /// The open transaction that carries durable writes not yet committed to LMDB, and their
    /// redo-log records (to apply again should the transaction be lost).
    private var carried: OpaquePointer?
    private var carriedRecords: [[UInt8]] = []
    private var carriedBytes = 0
    /// The thread that carries writes (`pthread_t`), or 0 before the first.
    private let carrier = Atomic<UInt>(0)
    /// Durable writes are carried that readers must not miss.
    private let unpublished = Atomic<Bool>(false)
    /// A reader waits for the carried writes to be committed.
    private let publicationWanted = Atomic<Bool>(false)
    /// Guards `broken`; readers wait on `published` for the carried writes.
    private let publication: UnsafeMutablePointer<pthread_mutex_t>
    private let published: UnsafeMutablePointer<pthread_cond_t>
    /// Carried writes could not be committed: they are durable only in the redo log, which the
    /// next open applies. Until then every read and write fails.
    private var broken = false
    /// Held by a write for its transaction, and by the carrier from the first write it carries
    /// until they are committed: a write or `sync()` on another thread waits for it (not for
    /// LMDB's write lock, which it would take while holding `resizeLock`), and so never comes
    /// between a lost carried transaction and the writes applied again in its place.
    private let gate: UnsafeMutablePointer<pthread_mutex_t>
    /// The carrier holds `gate` for writes it carries (touched only by the carrier).
    private var chainHoldsGate = false
    /// Threads waiting for `gate`: the carrier then carries no more writes.
    private let gateWanted = Atomic<Int>(0)
    /// At most this many bytes of records are carried (they are kept in memory).
    static let maxCarriedBytes = 4 << 20

    /// A checkpoint comes once this many bytes of pages were added since the last one: while
    /// the checkpoint's snapshot is pinned, LMDB writes every changed page to new space.
    static let checkpointGrowth = 32 << 20

    /// Opens (creating when missing) the environment at `path` and the named databases.
    ///
    /// Stale reader slots left by dead processes are cleared.
    ///
    /// - Throws: ``LMDBError`` of the failing step; nothing is left open.
    public init(path: String, databases names: [String], options: Options = Options()) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw LMDBError(code: errno) }
        // A log left by a durable open is applied even by one without durability, which then
        // removes it: its records must never be applied over later, unlogged commits.
        var log: RedoLog?
        var recovered: RedoLog.Recovered?
        if options.durable || access(path + "/" + RedoLog.fileName, F_OK) == 0 {
            (log, recovered) = try RedoLog.open(directory: path)
            if let recovered {
                // Also with no record to apply: a commit too large for the log may have reached
                // the file, meta page included, without the checkpoint that made it durable.
                try RedoLog.restoreMetaPages(recovered, directory: path)
            }
        }
        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env))
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, MDB_dbi(names.count + 1)))
            try LMDBError.check(mdb_env_set_maxreaders(env, options.maxReaders))
            try LMDBError.check(mdb_env_set_mapsize(env, options.initialMapSize))
            // Durability comes from the redo log and checkpoints, never from LMDB's own flushes.
            let flags = UInt32(MDB_NOTLS) | UInt32(MDB_NOSYNC)
            try LMDBError.check(mdb_env_open(env, path, flags, 0o600))
            var dead: Int32 = 0
            try LMDBError.check(mdb_reader_check(env, &dead))
            // A map larger than asked for (made so by earlier growth) is kept.
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            if info.me_mapsize < options.initialMapSize {
                try LMDBError.check(mdb_env_set_mapsize(env, options.initialMapSize))
            }
            var txn: OpaquePointer?
            try LMDBError.check(mdb_txn_begin(env, nil, 0, &txn))
            var opened: [String: Database] = [:]
            do {
                for name in names {
                    var dbi: MDB_dbi = 0
                    try LMDBError.check(mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi))
                    opened[name] = Database(dbi: dbi, name: name)
                }
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            // A failed commit frees the transaction itself.
            try LMDBError.check(mdb_txn_commit(txn))
            self.databases = opened
            if let records = recovered?.records, !records.isEmpty {
                try Self.replay(records, in: env!, databases: opened, maximumMapSize: options.maximumMapSize)
            }
            if !options.durable, log != nil {
                try LMDBError.check(mdb_env_sync(env, 1))
                try RedoLog.remove(directory: path)
                log = nil
            }
        } catch {
            mdb_env_close(env)
            throw error
        }
        handle = env!
        self.path = path
        self.options = options
        redo = log
        var descriptor: Int32 = -1
        mdb_env_get_fd(handle, &descriptor)
        dataFile = descriptor
        writeback = log == nil ? nil : Writeback(fd: descriptor)
        logLock = .allocate(capacity: 1)
        pthread_mutex_init(logLock, nil)
        publication = .allocate(capacity: 1)
        pthread_mutex_init(publication, nil)
        gate = .allocate(capacity: 1)
        pthread_mutex_init(gate, nil)
        published = .allocate(capacity: 1)
        pthread_cond_init(published, nil)
        resizeLock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        // Writer preference: a pending resize must not starve behind a stream of readers.
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(resizeLock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        if redo != nil {
            // Replayed records and the open's own commit become the first checkpoint.
            try withLogLock { try checkpoint() }
        }
    }

    /// Applies a log's records in one transaction, growing the map as needed.
    ///
    /// One transaction, because until the open's checkpoint (or the log's removal) is durable a
    /// crash sends the next open back to the checkpoint's snapshot, whose pages must then be
    /// whole. LMDB reuses a page freed by one commit only two commits later: replayed as one
    /// commit per record, the third record on could write over the checkpoint's pages.
    private static func replay(_ records: [[UInt8]], in env: OpaquePointer, databases: [String: Database],
                               maximumMapSize: Int) throws {
        while true {
            var txn: OpaquePointer?
            try LMDBError.check(mdb_txn_begin(env, nil, 0, &txn))
            var status: Int32
            do {
                for record in records { try RedoRecord.apply(record, in: txn!, databases: databases) }
                status = mdb_txn_commit(txn)
            } catch let error as LMDBError where error == .mapFull {
                mdb_txn_abort(txn)
                status = MDB_MAP_FULL
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            guard status == MDB_MAP_FULL else { return try LMDBError.check(status) }
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            try LMDBError.check(mdb_env_set_mapsize(env, try grownMapSize(info.me_mapsize, maximum: maximumMapSize)))
        }
    }

    /// The map size after one step of growth from `current`: doubled, by at most 1 GiB, up to
    /// `maximum`; `MDB_MAP_FULL` when it is there already.
    private static func grownMapSize(_ current: Int, maximum: Int) throws -> Int {
        guard current < maximum else { throw LMDBError.mapFull }
        return min(maximum, current + min(current, 1 << 30))
    }

    deinit {
        // Released on the carrying thread, carried writes are committed here. Released on
        // another, they cannot be (the transaction, and LMDB's write lock, belong to that
        // thread): a durable environment's log still holds them, and the next open applies them.
        if isCarrier { try? publish() }
        writeback?.stop()
        if redo != nil && !unpublished.load(ordering: .acquiring) {
            // A clean close leaves nothing to replay.
            try? withLogLock { try checkpoint() }
        }
        if let pin { mdb_txn_abort(pin) }
        mdb_env_close(handle)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
        pthread_mutex_destroy(logLock)
        logLock.deallocate()
        pthread_cond_destroy(published)
        published.deallocate()
        pthread_mutex_destroy(publication)
        publication.deallocate()
        pthread_mutex_destroy(gate)
        gate.deallocate()
    }

    /// The database opened under `name`. Asking for a name not given at open is a programming error.
    public subscript(name: String) -> Database {
        guard let db = databases[name] else { preconditionFailure("database \(name) was not opened") }
        return db
    }

    /// Runs `body` in a read-only snapshot and returns its result.
    ///
    /// The snapshot holds every write that returned before the call, carried ones included:
    /// while writes are carried, the call waits until their carrier commits them (see
    /// ``write(carrying:_:)``); on the carrying thread it commits them itself, except inside a
    /// write, where it sees only what was committed before.
    ///
    /// - Throws: `EIO` (``LMDBError``) when carried writes could not be committed.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        try awaitPublication()
        pthread_rwlock_rdlock(resizeLock)
        var txn: OpaquePointer?
        var status = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
        if status == MDB_MAP_RESIZED {
            // Another process grew the map: adopt its size with every transaction of this
            // process closed (the exclusive side of the lock), then try once more.
            pthread_rwlock_unlock(resizeLock)
            pthread_rwlock_wrlock(resizeLock)
            mdb_env_set_mapsize(handle, 0)
            pthread_rwlock_unlock(resizeLock)
            pthread_rwlock_rdlock(resizeLock)
            status = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
        }
        defer { pthread_rwlock_unlock(resizeLock) }
        try LMDBError.check(status)
        defer { mdb_txn_abort(txn) }
        return try body(ReadTransaction(core: TransactionCore(handle: txn!)))
    }

    /// Runs `body` in a write transaction, committing when it returns and aborting when it throws.
    ///
    /// When the map is full, the transaction is aborted, the map grown, and `body` run again
    /// from the start: it must compute everything from the transaction and its inputs.
    ///
    /// **Carrying.** With `carrying`, the write is made durable in the redo log (in a durable
    /// environment) and the call returns, but the LMDB transaction may stay open, and the next
    /// carrying write continues it: up to ``Options/maxCarriedWrites`` writes are carried (the
    /// one after them commits them all with it), and a page changed by several is written once.
    /// Carried writes are committed by ``publish()``, by a write that does not carry, or when
    /// the log or the map needs a checkpoint or room. Until then a ``read(_:)`` on another
    /// thread waits for them (``publicationRequested`` tells the carrier), so no reader misses a
    /// write that returned. Every carrying write, and the `publish()`, must come from the same
    /// thread (LMDB's write transaction belongs to it), which must not leave writes carried
    /// while it sleeps, and should release the environment itself. A write from another thread
    /// waits (in LMDB) until the carrier has committed.
    @discardableResult
    public func write<R>(carrying: Bool = false, _ body: (WriteTransaction) throws -> R) throws -> R {
        if carrying {
            let me = UInt(pthread_self())
            let (exchanged, original) = carrier.compareExchange(expected: 0, desired: me, ordering: .relaxed)
            precondition(exchanged || original == me, "carrying writes come from one thread")
        }
        let mine = isCarrier
        if mine && chainHoldsGate { chainHoldsGate = false } else { acquireGate() }
        defer {
            if mine && carried != nil { chainHoldsGate = true } else { pthread_mutex_unlock(gate) }
        }
        while true {
            do {
                let result = try writeOnce(carrying: carrying, body)
                // A write that committed what was carried, as a cramped map makes every one.
                if carrying { growIfCramped() }
                return result
            } catch let error as LMDBError where error == .mapFull {
                // Carried writes lost with the transaction that met the full map come back first.
                try growRestoringCarried()
            }
        }
    }

    /// Takes `gate`, asking the carrier to commit what it carries, if anything, and to carry no
    /// more until this thread has had its turn.
    private func acquireGate() {
        if pthread_mutex_trylock(gate) == 0 { return }
        // Sequentially consistent, with `carry`: either this thread sees the writes carried
        // and asks for them, or the carrier sees this thread waiting (see `carry`).
        gateWanted.add(1, ordering: .sequentiallyConsistent)
        if unpublished.load(ordering: .sequentiallyConsistent) { requestPublication() }
        pthread_mutex_lock(gate)
        gateWanted.subtract(1, ordering: .relaxed)
    }

    /// Grows the map after a full one, then applies the carried writes again (growing further
    /// if need be). Should the map not grow, they are applied again in the map as it is, where
    /// they fitted before; should that fail too, the environment is broken.
    private func growRestoringCarried() throws {
        while true {
            do {
                try grow()
            } catch {
                if isCarrier && !carriedRecords.isEmpty {
                    pthread_rwlock_rdlock(resizeLock)
                    defer { pthread_rwlock_unlock(resizeLock) }
                    do { try restoreCarried() } catch { markBroken() }
                }
                throw error
            }
            do {
                pthread_rwlock_rdlock(resizeLock)
                defer { pthread_rwlock_unlock(resizeLock) }
                try restoreCarried()
                return
            } catch let error as LMDBError where error == .mapFull {
                continue
            }
        }
    }

    /// Whether this thread has durable writes carried in an open transaction.
    public var isCarrying: Bool { isCarrier && carried != nil }

    /// Whether this thread carries ``Options/maxCarriedWrites`` writes: the next carrying write
    /// would commit them all before it returns, so the carrier had better ``publish()`` first,
    /// at a moment when no caller waits for it.
    public var isPublicationDue: Bool { isCarrier && carriedRecords.count >= options.maxCarriedWrites }

    /// Whether a reader waits for the carried writes to be committed (by ``publish()``).
    public var publicationRequested: Bool { publicationWanted.load(ordering: .relaxed) }

    /// Called on the asking thread when a reader, or a write or `sync()` on another thread,
    /// starts waiting for the carried writes: for a carrier that sleeps while it carries, to
    /// wake up and ``publish()``. Set before the first write, like the test hooks.
    public var onPublicationRequested: (@Sendable () -> Void)?

    private func requestPublication() {
        let (asked, _) = publicationWanted.compareExchange(expected: false, desired: true, ordering: .relaxed)
        if asked { onPublicationRequested?() }
    }

    /// Commits the carried writes, if any, and wakes the readers waiting for them. On the
    /// carrying thread only.
    ///
    /// - Throws: ``LMDBError`` when they cannot be committed even once applied again: they are
    ///   then durable only in the redo log, and every read and write fails until the next open.
    public func publish() throws {
        guard isCarrier else { return }
        try checkNotBroken()
        guard let txn = carried else { return }
        carried = nil
        defer {
            if chainHoldsGate {
                chainHoldsGate = false
                pthread_mutex_unlock(gate)
            }
        }
        do {
            pthread_rwlock_rdlock(resizeLock)
            defer { pthread_rwlock_unlock(resizeLock) }
            pthread_mutex_lock(logLock)
            defer { pthread_mutex_unlock(logLock) }
            if commitTransaction(txn) != 0 {
                // The transaction is gone, its records are not: apply them again.
                try restoreCarried()
            } else {
                markPublished()
            }
            if let redo, redo.isNearlyFull || usage.usedBytes - usedAtCheckpoint >= Self.checkpointGrowth {
                try? checkpoint()
            }
        } catch let error as LMDBError where error == .mapFull {
            // Committing them needs more room than the map has (the free list is saved at commit).
            try growRestoringCarried()
        }
        growIfCramped()
    }

    private var isCarrier: Bool {
        let id = carrier.load(ordering: .relaxed)
        return id != 0 && id == UInt(pthread_self())
    }

    private func writeOnce<R>(carrying: Bool, _ body: (WriteTransaction) throws -> R) throws -> R {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        try checkNotBroken()
        var record: RedoRecord?
        if let redo {
            let (room, failed) = withLogLock { (redo.room, redo.failed) }
            // Not even a transaction that writes nothing: what it reads (an idempotency record,
            // say) may be a commit that the failure left not durable.
            guard !failed else { throw LMDBError(code: EIO) }
            record = RedoRecord(limit: room, summing: true)
        } else if carrying {
            // No log to write it to: recorded only to be applied again should the carried
            // transaction be lost.
            record = RedoRecord(limit: Self.maxCarriedBytes)
        }
        // Continues the carried transaction, if this thread has one.
        let mine = isCarrier
        var txn = mine ? carried : nil
        if txn != nil { carried = nil } else { try LMDBError.check(mdb_txn_begin(handle, nil, 0, &txn)) }
        let result: R
        do {
            result = try body(WriteTransaction(core: TransactionCore(handle: txn!, record: record)))
        } catch {
            mdb_txn_abort(txn)
            // The writes it carried returned as durable: they must not vanish with it. After a
            // full map they come back once the map has grown (see `write`).
            if mine && !((error as? LMDBError) == .mapFull) { try restoreCarried() }
            throw error
        }
        guard let record, !record.isEmpty else {
            if carrying && !carriedRecords.isEmpty {
                // Nothing to log; the carried writes stay carried.
                carried = txn
                return result
            }
            try commit(txn!, carriedHere: mine)
            return result
        }
        guard let redo else {
            // Without durability: carried as long as allowed, else committed.
            if carrying && !record.overflowed && mayCarry(record.count) {
                carry(txn!, record: record.bytes)
                return result
            }
            try commit(txn!, carriedHere: mine)
            return result
        }
        pthread_mutex_lock(logLock)
        defer { pthread_mutex_unlock(logLock) }
        if !record.overflowed && redo.fits(record.count) {
            // Logged and flushed first, so that no reader sees a change that is not durable.
            do {
                try redo.append(record.bytes, summed: record.payloadChecksum())
            } catch {
                mdb_txn_abort(txn)
                if mine { try restoreCarried() }
                throw error
            }
            let checkpointDue = redo.isNearlyFull
                || usage.usedBytes - usedAtCheckpoint >= Self.checkpointGrowth
            if carrying && !checkpointDue && mayCarry(record.count) {
                carry(txn!, record: record.bytes)
                return result
            }
            // Failed, this write is not durable after all; the carried ones are.
            try commit(txn!, carriedHere: mine, failing: { try? redo.revokeLast() })
            if checkpointDue {
                // The commit is durable already; a failing checkpoint shows at the next one.
                try? checkpoint()
            }
        } else {
            // Larger than the room left in the log: committed, then made durable by flushing
            // `data.mdb` itself in a checkpoint. Should that fail, later records would assume a
            // commit that recovery may not find: the log then accepts nothing more.
            try commit(txn!, carriedHere: mine)
            do {
                try checkpoint()
            } catch {
                redo.refuseWrites()
                throw error
            }
        }
        return result
    }

    /// Commits `txn`. With `carriedHere` (the carrier's transaction), the carried writes it
    /// held are then published, or, should the commit fail, applied again (after `failing`).
    private func commit(_ txn: OpaquePointer, carriedHere: Bool, failing: () -> Void = {}) throws {
        // A failed commit has already freed the transaction: it must not be aborted again.
        let status = commitTransaction(txn)
        guard status == 0 else {
            failing()
            if carriedHere { try restoreCarried() }
            throw LMDBError(code: status)
        }
        if carriedHere { markPublished() }
    }

    /// Keeps `txn` open with its writes carried; `record` is what the last write did.
    private func carry(_ txn: OpaquePointer, record: [UInt8]) {
        carriedRecords.append(record)
        carriedBytes += record.count
        carried = txn
        unpublished.store(true, ordering: .sequentiallyConsistent)
        // A thread that started waiting for `gate` after `mayCarry` looked may have read
        // `unpublished` before the store above, and asked for nothing: ask on its behalf (the
        // carrier looks at `publicationRequested` before it sleeps; not its hook, which may
        // take a lock the carrier holds).
        if gateWanted.load(ordering: .sequentiallyConsistent) > 0 {
            publicationWanted.store(true, ordering: .relaxed)
        }
    }

    /// Whether a write of `count` more bytes of record may join the carried ones: within the
    /// limits, and with the map's wanted room free (so that a carried transaction rarely meets
    /// a full map, which costs applying its records again).
    private func mayCarry(_ count: Int) -> Bool {
        guard gateWanted.load(ordering: .relaxed) == 0, carriedRecords.count < options.maxCarriedWrites,
              carriedBytes + count <= Self.maxCarriedBytes else { return false }
        return !isCramped(usage)
    }

    /// The room a map of `mapSize` bytes should keep free: a quarter of it, at most one step
    /// of growth (1 GiB), so that one step restores it.
    public static func wantedRoom(mapSize: Int) -> Int { min(mapSize / 4, 1 << 30) }

    /// Whether the map has less than its wanted room free.
    private func isCramped(_ usage: Usage) -> Bool {
        usage.mapSize - usage.usedBytes < Self.wantedRoom(mapSize: usage.mapSize)
    }

    /// Grows the map when it has less than its wanted room free and may still grow, on the
    /// carrier with nothing carried: a cramped map would stop the writer from carrying writes
    /// (every batch a commit of its own, a fifth fewer appends a second at 16 connections here)
    /// until a write found it full. A failure leaves the map as it is, for that write to grow.
    private func growIfCramped() {
        guard options.growsBeforeFull, isCarrier, carried == nil else { return }
        let usage = self.usage
        guard isCramped(usage), usage.mapSize < options.maximumMapSize else { return }
        // Never waits for a reader (a backup's copy, a verify, holds its read for minutes):
        // the next write tries again, and a write that finds the map full still waits.
        try? grow(waiting: false)
    }

    /// Applies the carried records again in a transaction of their own and commits it, after
    /// the carried transaction was lost (aborted, or its commit failed). Called with
    /// `resizeLock` held. Should that fail too (but for a full map: see
    /// ``growRestoringCarried()``), the environment is broken: the records are durable in the
    /// log, which the next open applies.
    private func restoreCarried() throws {
        guard !carriedRecords.isEmpty else { return }
        var txn: OpaquePointer?
        var status = mdb_txn_begin(handle, nil, 0, &txn)
        if status == 0 {
            do {
                for record in carriedRecords { try RedoRecord.apply(record, in: txn!, databases: databases) }
                status = commitTransaction(txn!)
            } catch let error as LMDBError {
                mdb_txn_abort(txn)
                status = error.code
            } catch {
                mdb_txn_abort(txn)
                status = EIO
            }
        }
        guard status == 0 else {
            // A full map is no failure: the caller grows it (a checkpoint that keeps these
            // records in the log) and applies them again.
            if status != MDB_MAP_FULL { markBroken() }
            throw LMDBError(code: status)
        }
        markPublished()
    }

    /// The carried writes are committed (or there were none): readers may go on.
    private func markPublished() {
        carriedRecords = []
        carriedBytes = 0
        guard unpublished.load(ordering: .relaxed) else { return }
        pthread_mutex_lock(publication)
        unpublished.store(false, ordering: .releasing)
        publicationWanted.store(false, ordering: .relaxed)
        pthread_cond_broadcast(published)
        pthread_mutex_unlock(publication)
    }

    private func markBroken() {
        carriedRecords = []
        carriedBytes = 0
        pthread_mutex_lock(publication)
        broken = true
        pthread_cond_broadcast(published)
        pthread_mutex_unlock(publication)
    }

    private func checkNotBroken() throws {
        pthread_mutex_lock(publication)
        defer { pthread_mutex_unlock(publication) }
        if broken { throw LMDBError(code: EIO) }
    }

    /// Returns once every write that returned before the call is committed in LMDB (carried
    /// writes published, see ``write(carrying:_:)``): for a step outside LMDB that must follow
    /// the commit even without the redo log (an environment without durability loses carried
    /// writes in a process crash).
    ///
    /// - Throws: `EIO` (``LMDBError``) when carried writes could not be committed.
    public func waitForCommits() throws {
        try awaitPublication()
    }

    /// Waits until no write that returned is still carried (see ``write(carrying:_:)``); on the
    /// carrying thread, publishes them (nothing, inside a write: its transaction is in use).
    func awaitPublication() throws {
        guard unpublished.load(ordering: .acquiring) else { return }
        if isCarrier { return try publish() }
        pthread_mutex_lock(publication)
        defer { pthread_mutex_unlock(publication) }
        while unpublished.load(ordering: .acquiring) && !broken {
            requestPublication()
            pthread_cond_wait(published, publication)
        }
        if broken { throw LMDBError(code: EIO) }
    }

    /// Makes every commit so far durable in `data.mdb` and starts a new log generation from
    /// it: flushes the file, copies its meta pages into the log's header, and moves the pinned
    /// snapshot to it. Called with `logLock` held.
    private func checkpoint() throws {
        guard let redo else { return }
        // Broken, the carried writes are durable only in the log: it must not start afresh.
        try checkNotBroken()
        let synced = syncDataFile(handle)
        if synced != 0 {
            // Linux reports a failed write-back once: a later flush may succeed without the
            // pages lost here, and a checkpoint after it would drop the records that are their
            // only durable copy. The log, and with it the store, accepts no further write.
            redo.refuseWrites()
            throw LMDBError(code: synced)
        }
        let pageSize = usage.pageSize
        var metaPages = [UInt8](repeating: 0, count: 2 * pageSize)
        let count = metaPages.withUnsafeMutableBytes { pread(dataFile, $0.baseAddress, $0.count, 0) }
        guard count == metaPages.count else { throw LMDBError(code: count < 0 ? errno : EIO) }
        // The new snapshot is pinned before the header names it, the old one released after.
        var fresh: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &fresh))
        do {
            // Carried writes are not in `data.mdb`: their records go on into the new generation.
            try redo.checkpoint(metaPages: metaPages, pageSize: pageSize, now: Self.monotonicNanoseconds(),
                                keeping: isCarrier ? carriedRecords : [])
        } catch {
            mdb_txn_abort(fresh)
            throw error
        }
        if let pin { mdb_txn_abort(pin) }
        pin = fresh
        usedAtCheckpoint = usage.usedBytes
    }

    /// Has the write-back thread start the kernel writing `data.mdb`'s dirty pages now, as it
    /// does on its timer (no device flush); returns at once. Does nothing without durability.
    ///
    /// For the writer to call between batches: the pages of each commit then leave a few at a
    /// time instead of in bursts, and a flush of the redo log no longer waits behind a burst
    /// (at 16 connections here, the flush's p99 went from about 2.3 ms to 0.3 ms). The call
    /// itself waits while the device's queue is full (here up to 0.8 ms), so the caller does
    /// not make it.
    public func startWriteback() {
        writeback?.request()
    }

    /// With durability a checkpoint, else a plain flush of `data.mdb`. Called with `logLock` held.
    func checkpointOrSync() throws {
        if redo != nil { try checkpoint() } else { try LMDBError.check(mdb_env_sync(handle, 1)) }
    }

    /// Runs `body` holding `gate`: no write runs, and none is carried, meanwhile.
    func withGate<R>(_ body: () throws -> R) rethrows -> R {
        if isCarrier && chainHoldsGate { return try body() }
        acquireGate()
        defer { pthread_mutex_unlock(gate) }
        return try body()
    }

    func withLogLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(logLock)
        defer { pthread_mutex_unlock(logLock) }
        return try body()
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Doubles the map (by at most 1 GiB a step), with every transaction of this process closed.
    private func grow(waiting: Bool = true) throws {
        if waiting {
            pthread_rwlock_wrlock(resizeLock)
        } else if pthread_rwlock_trywrlock(resizeLock) != 0 {
            return
        }
        defer { pthread_rwlock_unlock(resizeLock) }
        let next = try Self.grownMapSize(mapSize, maximum: options.maximumMapSize)
        guard redo != nil else {
            try LMDBError.check(mdb_env_set_mapsize(handle, next))
            return
        }
        // LMDB resizes only with no transaction open, the pin included: a checkpoint first
        // makes the latest snapshot durable, so nothing needs pinning until the pin is back.
        try withLogLock {
            try checkpoint()
            if let pin { mdb_txn_abort(pin) }
            pin = nil
            let status = mdb_env_set_mapsize(handle, next)
            var fresh: OpaquePointer?
            try LMDBError.check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &fresh))
            pin = fresh
            try LMDBError.check(status)
        }
    }

    /// The current size of the memory map in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }
}
