internal import CTranscriptLMDB

/// The read-write transaction, valid only inside ``Environment/write(_:)``.
///
/// It sees its own uncommitted writes. A failed `put` leaves the transaction usable only for
/// abort; the environment does that when the closure throws.
public struct WriteTransaction {
    let core: TransactionCore

    /// Calls `body` with the value stored under `key`, or returns `nil` when there is none.
    public func withValue<R>(in db: Database, forKey key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try key.withUnsafeBytes { try core.withValue(in: db, forKey: $0, body) }
    }

    /// Returns a copy of the value stored under `key`, or `nil`.
    public func value(in db: Database, forKey key: [UInt8]) throws -> [UInt8]? {
        try withValue(in: db, forKey: key) { Array($0) }
    }

    /// The number of entries in `db`.
    public func entryCount(in db: Database) throws -> Int { try core.entryCount(in: db) }

    /// Opens a cursor on `db` for the duration of `body`; it may delete the entry it is on.
    public func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R {
        try core.withCursor(db, body)
    }

    /// Stores `value` under `key`.
    ///
    /// - Parameter overwrite: when `false`, an existing key is left alone and `false` returned.
    /// - Returns: whether the value was written.
    @discardableResult
    public func put(_ value: [UInt8], forKey key: [UInt8], in db: Database, overwrite: Bool = true) throws -> Bool {
        try value.withUnsafeBytes { try put($0, forKey: key, in: db, overwrite: overwrite) }
    }

    /// Stores the bytes of `value` under `key`; see ``put(_:forKey:in:overwrite:)-([UInt8],_,_,_)``.
    @discardableResult
    public func put(_ value: UnsafeRawBufferPointer, forKey key: [UInt8], in db: Database, overwrite: Bool = true) throws -> Bool {
        let flags: UInt32 = overwrite ? 0 : UInt32(MDB_NOOVERWRITE)
        let status = key.withUnsafeBytes { keyBytes in
            TransactionCore.withVal(keyBytes) { keyVal in
                TransactionCore.withVal(value) { dataVal in
                    mdb_put(core.handle, db.dbi, &keyVal, &dataVal, flags)
                }
            }
        }
        if status == MDB_KEYEXIST && !overwrite { return false }
        try LMDBError.check(status)
        key.withUnsafeBytes { core.record?.put(db, key: $0, value: value) }
        return true
    }

    /// Deletes the entry under `key`.
    ///
    /// - Returns: `false` when there was none.
    @discardableResult
    public func delete(forKey key: [UInt8], in db: Database) throws -> Bool {
        let status = key.withUnsafeBytes { keyBytes in
            TransactionCore.withVal(keyBytes) { mdb_del(core.handle, db.dbi, &$0, nil) }
        }
        if status == MDB_NOTFOUND { return false }
        try LMDBError.check(status)
        key.withUnsafeBytes { core.record?.delete(db, key: $0) }
        return true
    }

    /// Deletes every entry of `db`, keeping the database.
    public func removeAll(in db: Database) throws {
        try LMDBError.check(mdb_drop(core.handle, db.dbi, 0))
        core.record?.clear(db)
    }

    /// Runs `body` in a nested transaction: its writes join this transaction when it returns
    /// and vanish when it throws, leaving this transaction as it was.
    public func nested<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        var child: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(mdb_txn_env(core.handle), core.handle, 0, &child))
        let savepoint = core.record?.count ?? 0
        let result: R
        do {
            result = try body(WriteTransaction(core: TransactionCore(handle: child!, record: core.record)))
        } catch {
            mdb_txn_abort(child)
            core.record?.truncate(to: savepoint)
            throw error
        }
        // A failed commit frees the child transaction itself: it must not be aborted again.
        do {
            try LMDBError.check(mdb_txn_commit(child))
        } catch {
            core.record?.truncate(to: savepoint)
            throw error
        }
        return result
    }
}
