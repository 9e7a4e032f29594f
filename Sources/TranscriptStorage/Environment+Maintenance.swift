internal import CTranscriptLMDB
internal import Glibc

extension Environment {
    /// Figures about the environment's space use.
    public struct Usage: Sendable, Equatable {
        /// The size of the memory map.
        public var mapSize: Int
        /// The bytes of pages in use (the last used page number times the page size).
        public var usedBytes: Int
        /// The page size.
        public var pageSize: Int
        /// The id of the last committed LMDB transaction: it grows by one a commit.
        public var lastTransactionID: Int = 0
    }

    /// The map size and the space in use.
    public var usage: Usage {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        let pageSize = Int(stat.ms_psize)
        return Usage(mapSize: info.me_mapsize, usedBytes: (info.me_last_pgno + 1) * pageSize, pageSize: pageSize,
                     lastTransactionID: info.me_last_txnid)
    }

    /// Writes a consistent copy of the environment into the directory `destination`, which must
    /// exist and be empty. With `compact`, free pages are left out and the copy is renumbered.
    ///
    /// The copy runs in a read transaction, so writers go on meanwhile.
    /// The copy's `data.mdb` is created with mode 0600 before a byte is written (LMDB's own copy
    /// by path creates it readable by others, as the umask allows, until a caller narrows it).
    public func copy(to destination: String, compact: Bool) throws {
        let file = destination + "/data.mdb"
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { close(fd) }
        // The copy's snapshot must hold every write that returned (and on the carrying thread
        // LMDB's copy would wait for the write transaction that thread holds).
        do {
            try awaitPublication()
        } catch {
            unlink(file)
            throw error
        }
        pthread_rwlock_rdlock(resizeLockPointer)
        defer { pthread_rwlock_unlock(resizeLockPointer) }
        do {
            try LMDBError.check(mdb_env_copyfd2(handle, fd, compact ? UInt32(MDB_CP_COMPACT) : 0))
        } catch {
            unlink(file)
            throw error
        }
    }

    /// Removes the redo log of the closed environment at `path`, if any, durably.
    ///
    /// For replacing `data.mdb` with another file (a compacted copy): the log's checkpoint
    /// describes the old file, and the next open would write its meta pages into the new one.
    /// The old file must be whole without the log: its environment closed cleanly.
    public static func removeLog(at path: String) throws {
        try RedoLog.remove(directory: path)
    }

    /// Flushes the data to disk: with durability, a checkpoint, after which the redo log holds
    /// nothing to replay.
    public func sync() throws {
        // A checkpoint starts the log afresh: carried writes must be in `data.mdb` first, and
        // none may be carried meanwhile (the gate, which the carrier holds while it carries).
        try awaitPublication()
        try withGate {
            pthread_rwlock_rdlock(resizeLockPointer)
            defer { pthread_rwlock_unlock(resizeLockPointer) }
            try withLogLock { try checkpointOrSync() }
        }
    }
}
