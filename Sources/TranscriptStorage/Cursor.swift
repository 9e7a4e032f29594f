internal import CTranscriptLMDB

/// A position in one database, valid only inside `withCursor`.
///
/// Each entry's buffers point into the map and are valid until the next cursor move.
///
/// ```swift
/// try txn.withCursor(messages) { cursor in
///     var entry = try cursor.seek(atLeast: prefix)
///     while let current = entry, current.key.starts(with: prefix) {
///         entry = try cursor.next()
///     }
/// }
/// ```
public struct Cursor {
    let handle: OpaquePointer
    let db: Database
    let record: RedoRecord?

    /// A key and value, pointing into the memory map.
    public struct Entry {
        public let key: UnsafeRawBufferPointer
        public let value: UnsafeRawBufferPointer
    }

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var keyVal = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var dataVal = MDB_val()
        let status = mdb_cursor_get(handle, &keyVal, &dataVal, op)
        if status == MDB_NOTFOUND { return nil }
        try LMDBError.check(status)
        return Entry(key: TransactionCore.buffer(keyVal), value: TransactionCore.buffer(dataVal))
    }

    /// Moves to the first entry whose key is greater than or equal to `key`.
    ///
    /// An empty `key` (an empty prefix) moves to the first entry; LMDB itself refuses
    /// zero-length keys with `MDB_BAD_VALSIZE`.
    public func seek(atLeast key: [UInt8]) throws -> Entry? {
        if key.isEmpty { return try first() }
        return try key.withUnsafeBytes { try move(MDB_SET_RANGE, key: $0) }
    }

    /// Moves to the entry after the current one.
    public func next() throws -> Entry? { try move(MDB_NEXT) }

    /// Moves to the entry before the current one.
    public func previous() throws -> Entry? { try move(MDB_PREV) }

    /// Moves to the first entry of the database.
    public func first() throws -> Entry? { try move(MDB_FIRST) }

    /// Moves to the last entry of the database.
    public func last() throws -> Entry? { try move(MDB_LAST) }

    /// Deletes the entry the cursor is on (write transactions only).
    public func deleteCurrent() throws {
        if let record {
            var keyVal = MDB_val()
            var dataVal = MDB_val()
            try LMDBError.check(mdb_cursor_get(handle, &keyVal, &dataVal, MDB_GET_CURRENT))
            // Recorded (copied) first: once deleted, the key's bytes in the page move.
            let savepoint = record.count
            record.delete(db, key: TransactionCore.buffer(keyVal))
            do {
                try LMDBError.check(mdb_cursor_del(handle, 0))
            } catch {
                record.truncate(to: savepoint)
                throw error
            }
        } else {
            try LMDBError.check(mdb_cursor_del(handle, 0))
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes begin with `prefix`.
    public func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        for index in 0..<prefix.count where self[index] != prefix[index] { return false }
        return true
    }
}
