internal import CTranscriptLMDB
internal import Glibc

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
    // are touched only with `logLock` held; `syncDataFile` is set only by tests, before any
    // write.

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
        /// benchmarks that measure the cost of durability.
        public var durable: Bool = true

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
        writeback?.stop()
        if redo != nil {
            // A clean close leaves nothing to replay.
            try? withLogLock { try checkpoint() }
        }
        if let pin { mdb_txn_abort(pin) }
        mdb_env_close(handle)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
        pthread_mutex_destroy(logLock)
        logLock.deallocate()
    }

    /// The database opened under `name`. Asking for a name not given at open is a programming error.
    public subscript(name: String) -> Database {
        guard let db = databases[name] else { preconditionFailure("database \(name) was not opened") }
        return db
    }

    /// Runs `body` in a read-only snapshot and returns its result.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
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
    @discardableResult
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        while true {
            do {
                return try writeOnce(body)
            } catch let error as LMDBError where error == .mapFull {
                try grow()
            }
        }
    }

    private func writeOnce<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        var record: RedoRecord?
        if let redo {
            let (room, failed) = withLogLock { (redo.room, redo.failed) }
            // Not even a transaction that writes nothing: what it reads (an idempotency record,
            // say) may be a commit that the failure left not durable.
            guard !failed else { throw LMDBError(code: EIO) }
            record = RedoRecord(limit: room)
        }
        var txn: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(handle, nil, 0, &txn))
        let result: R
        do {
            result = try body(WriteTransaction(core: TransactionCore(handle: txn!, record: record)))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        guard let redo, let record, !record.isEmpty else {
            // A failed commit has already freed the transaction: it must not be aborted again.
            try LMDBError.check(mdb_txn_commit(txn))
            return result
        }
        pthread_mutex_lock(logLock)
        defer { pthread_mutex_unlock(logLock) }
        if !record.overflowed && redo.fits(record.count) {
            // Logged and flushed first, so that no reader sees a change that is not durable.
            do {
                try redo.append(record.bytes)
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            let status = mdb_txn_commit(txn)
            if status != 0 {
                try? redo.revokeLast()
                throw LMDBError(code: status)
            }
            if redo.isNearlyFull || usage.usedBytes - usedAtCheckpoint >= Self.checkpointGrowth {
                // The commit is durable already; a failing checkpoint shows at the next one.
                try? checkpoint()
            }
        } else {
            // Larger than the room left in the log: committed, then made durable by flushing
            // `data.mdb` itself in a checkpoint. Should that fail, later records would assume a
            // commit that recovery may not find: the log then accepts nothing more.
            try LMDBError.check(mdb_txn_commit(txn))
            do {
                try checkpoint()
            } catch {
                redo.refuseWrites()
                throw error
            }
        }
        return result
    }

    /// Makes every commit so far durable in `data.mdb` and starts a new log generation from
    /// it: flushes the file, copies its meta pages into the log's header, and moves the pinned
    /// snapshot to it. Called with `logLock` held.
    private func checkpoint() throws {
        guard let redo else { return }
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
            try redo.checkpoint(metaPages: metaPages, pageSize: pageSize, now: Self.monotonicNanoseconds())
        } catch {
            mdb_txn_abort(fresh)
            throw error
        }
        if let pin { mdb_txn_abort(pin) }
        pin = fresh
        usedAtCheckpoint = usage.usedBytes
    }

    /// Starts the kernel writing `data.mdb`'s dirty pages, as ``Writeback`` does on its timer
    /// (no wait, no device flush); does nothing without durability.
    ///
    /// For the writer to call between batches: the pages of each commit then leave a few at a
    /// time instead of in bursts, and a flush of the redo log no longer waits behind a burst
    /// (at 16 connections here, the flush's p99 went from about 2.3 ms to 0.3 ms).
    public func startWriteback() {
        writeback?.start()
    }

    /// With durability a checkpoint, else a plain flush of `data.mdb`. Called with `logLock` held.
    func checkpointOrSync() throws {
        if redo != nil { try checkpoint() } else { try LMDBError.check(mdb_env_sync(handle, 1)) }
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
    private func grow() throws {
        pthread_rwlock_wrlock(resizeLock)
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
