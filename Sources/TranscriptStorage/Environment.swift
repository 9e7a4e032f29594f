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
    // transaction holds shared for its whole life; `headroomEnd` changes only with a write
    // transaction open (LMDB lets one exist at a time).

    /// How an environment is opened.
    public struct Options: Sendable {
        /// The initial map size in bytes; it grows on demand.
        public var initialMapSize: Int = 64 << 20
        /// The largest the map may grow to.
        public var maximumMapSize: Int = 1 << 40
        /// The most reader slots (concurrent read transactions across processes).
        public var maxReaders: UInt32 = 510
        /// Whether commits are flushed to disk before they return. Turn off only for tests
        /// and benchmarks that measure the cost of durability.
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
    /// `data.mdb`'s descriptor (LMDB's own), and the end of the zeros written ahead of the
    /// pages in use; `headroomEnd` is touched only inside a write transaction.
    private let dataFile: Int32
    private var headroomEnd: Int

    /// The zeros kept written ahead of the last page in use grow by half the pages in use,
    /// between these bounds, once less than a quarter of a step is left.
    ///
    /// A commit that appends pages past the end of `data.mdb` grows the file, and its
    /// `fdatasync` must then also make the new size and block allocation durable: on ext4 a
    /// journal commit, one more device flush. Pages written into blocks already written (with
    /// zeros, by `keepHeadroom`) are plain overwrites. LMDB reads no page past its last one, so
    /// the zeros mean nothing to it; a compacted copy or backup holds only the pages in use.
    static let headroomMinimumStep = 1 << 20
    static let headroomMaximumStep = 32 << 20

    /// Opens (creating when missing) the environment at `path` and the named databases.
    ///
    /// Stale reader slots left by dead processes are cleared.
    ///
    /// - Throws: ``LMDBError`` of the failing step; nothing is left open.
    public init(path: String, databases names: [String], options: Options = Options()) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw LMDBError(code: errno) }
        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env))
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, MDB_dbi(names.count + 1)))
            try LMDBError.check(mdb_env_set_maxreaders(env, options.maxReaders))
            try LMDBError.check(mdb_env_set_mapsize(env, options.initialMapSize))
            var flags = UInt32(MDB_NOTLS)
            if !options.durable { flags |= UInt32(MDB_NOSYNC) }
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
        } catch {
            mdb_env_close(env)
            throw error
        }
        handle = env!
        self.path = path
        self.options = options
        var descriptor: Int32 = -1
        mdb_env_get_fd(handle, &descriptor)
        dataFile = descriptor
        var status = stat()
        headroomEnd = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
        resizeLock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        // Writer preference: a pending resize must not starve behind a stream of readers.
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(resizeLock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        mdb_env_close(handle)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
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
        var txn: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(handle, nil, 0, &txn))
        let result: R
        do {
            if options.durable { keepHeadroom() }
            result = try body(WriteTransaction(core: TransactionCore(handle: txn!)))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // A failed commit has already freed the transaction: it must not be aborted again.
        try LMDBError.check(mdb_txn_commit(txn))
        return result
    }

    /// Writes more zeros past the end of `data.mdb` when little is left ahead of the last page
    /// in use (see `headroomMinimumStep`), and flushes them. Called with the write transaction
    /// open: no other commit can write pages meanwhile. A failure (a full disk) is ignored:
    /// commits then grow the file as LMDB does by itself.
    private func keepHeadroom() {
        let usage = usage
        let inUse = usage.usedBytes
        let step = min(Self.headroomMaximumStep, max(Self.headroomMinimumStep, inUse / 2))
        guard headroomEnd - inUse < step / 4 else { return }
        let start = max(headroomEnd, inUse)
        let end = min(start + step, max(usage.mapSize, start))
        guard end > start else { return }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var offset = start
        while offset < end {
            let written = zeros.withUnsafeBytes { pwrite(dataFile, $0.baseAddress, min($0.count, end - offset), off_t(offset)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
        guard fdatasync(dataFile) == 0 else { return }
        headroomEnd = end
    }

    /// Doubles the map (by at most 1 GiB a step), with every transaction of this process closed.
    private func grow() throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        let current = mapSize
        guard current < options.maximumMapSize else { throw LMDBError.mapFull }
        let next = min(options.maximumMapSize, current + min(current, 1 << 30))
        try LMDBError.check(mdb_env_set_mapsize(handle, next))
    }

    /// The current size of the memory map in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }
}
