/// What read and write transactions both offer, so that code which only reads can take either.
///
/// ```swift
/// func count(_ db: Database, in txn: some ReadableTransaction) throws -> Int { try txn.entryCount(in: db) }
/// ```
public protocol ReadableTransaction {
    /// Calls `body` with the value stored under `key`, or returns `nil` when there is none.
    func withValue<R>(in db: Database, forKey key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R?
    /// Returns a copy of the value stored under `key`, or `nil`.
    func value(in db: Database, forKey key: [UInt8]) throws -> [UInt8]?
    /// The number of entries in `db`.
    func entryCount(in db: Database) throws -> Int
    /// Opens a cursor on `db` for the duration of `body`.
    func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R
}

extension ReadTransaction: ReadableTransaction {}
extension WriteTransaction: ReadableTransaction {}
