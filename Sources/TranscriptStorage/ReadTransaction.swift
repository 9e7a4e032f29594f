/// A read-only snapshot of the environment, valid only inside ``Environment/read(_:)``.
///
/// Buffers handed to closures point into the memory map and are valid only until the
/// closure returns: copy or decrypt them there.
public struct ReadTransaction {
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

    /// Opens a cursor on `db` for the duration of `body`.
    public func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R {
        try core.withCursor(db, body)
    }
}
