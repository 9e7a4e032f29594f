internal import CTranscriptLMDB

/// The operations shared by read and write transactions, over the raw `MDB_txn`.
struct TransactionCore {
    let handle: OpaquePointer
    /// Where a write transaction of a durable environment records its changes (redo log).
    var record: RedoRecord? = nil

    @inline(__always)
    static func withVal<R>(_ bytes: UnsafeRawBufferPointer, _ body: (inout MDB_val) throws -> R) rethrows -> R {
        var val = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        return try body(&val)
    }

    @inline(__always)
    static func buffer(_ val: MDB_val) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: val.mv_data, count: val.mv_size)
    }

    func withValue<R>(in db: Database, forKey key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var data = MDB_val()
        let status = Self.withVal(key) { mdb_get(handle, db.dbi, &$0, &data) }
        if status == MDB_NOTFOUND { return nil }
        try LMDBError.check(status)
        return try body(Self.buffer(data))
    }

    func entryCount(in db: Database) throws -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(handle, db.dbi, &stat))
        return stat.ms_entries
    }

    func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R {
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(handle, db.dbi, &cursor))
        defer { mdb_cursor_close(cursor) }
        return try body(Cursor(handle: cursor!, db: db, record: record))
    }
}
