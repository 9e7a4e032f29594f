internal import CTranscriptLMDB

/// What one write transaction did, as a redo-log record: its puts, deletes and clears in order,
/// each naming its database.
///
/// Layout of one operation: a kind byte (1 put, 2 delete, 3 clear), the database name's length
/// (one byte) and bytes, then for put and delete the key's length (`UInt32`, little-endian) and
/// bytes, and for put the value's length and bytes.
final class RedoRecord {
    // Invariant: used only by the thread running the transaction it records.

    private enum Kind: UInt8 {
        case put = 1
        case delete = 2
        case clear = 3
    }

    private(set) var bytes: [UInt8] = []
    /// Past this many bytes the record cannot go to the log anyway (the transaction is made
    /// durable by a checkpoint instead): recording stops, and `overflowed` says so.
    private let limit: Int
    /// The operations went past `limit`; `bytes` no longer holds them.
    private(set) var overflowed = false
    /// The running checksum of `bytes[..<summed]`, for a record bound for the log.
    private let checksum: RecordChecksum?
    private var summed = 0

    /// `summing`: the record is bound for the log, and its checksum is summed as it grows (see
    /// ``payloadChecksum()``).
    init(limit: Int, summing: Bool = false) {
        self.limit = limit
        self.checksum = summing ? RecordChecksum() : nil
    }

    var isEmpty: Bool { bytes.isEmpty && !overflowed }
    var count: Int { bytes.count }

    /// Forgets what was recorded after `count` bytes (a nested transaction that was undone).
    func truncate(to count: Int) {
        if count < bytes.count { bytes.removeSubrange(count...) }
        if count < summed {
            // Bytes already summed are gone: the sum starts over, from the first byte, at the
            // next operation (or the commit).
            checksum?.reset()
            summed = 0
        }
    }

    /// The checksum with the whole payload summed, for ``RedoLog/append(_:summed:)``, which
    /// spends it: once per record, after its last operation.
    func payloadChecksum() -> RecordChecksum? {
        sum()
        return checksum
    }

    /// Sums what the operations added since the last call.
    private func sum() {
        guard let checksum, !overflowed, summed < bytes.count else { return }
        bytes.withUnsafeBytes { checksum.update(UnsafeRawBufferPointer(rebasing: $0[summed...])) }
        summed = bytes.count
    }

    /// Stops recording once `limit` is passed: an overflowed record stays overflowed, even if a
    /// nested transaction is undone later.
    private func checkLimit() {
        if bytes.count > limit {
            overflowed = true
            bytes = []
            return
        }
        sum()
    }

    func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard !overflowed else { return }
        header(.put, db)
        blob(key)
        blob(value)
        checkLimit()
    }

    func delete(_ db: Database, key: UnsafeRawBufferPointer) {
        guard !overflowed else { return }
        header(.delete, db)
        blob(key)
        checkLimit()
    }

    func clear(_ db: Database) {
        guard !overflowed else { return }
        header(.clear, db)
        checkLimit()
    }

    private func header(_ kind: Kind, _ db: Database) {
        bytes.append(kind.rawValue)
        bytes.append(UInt8(db.name.utf8.count))
        bytes.append(contentsOf: db.name.utf8)
    }

    private func blob(_ data: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(data.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: data)
    }

    /// Applies the operations of a record in `txn`, in order.
    ///
    /// - Throws: ``LMDBError/corrupted`` for a record that does not parse or names a database
    ///   the environment did not open; an LMDB error of a failing operation.
    static func apply(_ record: [UInt8], in txn: OpaquePointer, databases: [String: Database]) throws {
        try record.withUnsafeBytes { raw in
            var offset = 0
            func take(_ count: Int) throws -> UnsafeRawBufferPointer {
                guard count >= 0, offset + count <= raw.count else { throw LMDBError.corrupted }
                defer { offset += count }
                return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count])
            }
            func length() throws -> Int {
                let field = try take(4)
                return Int(UInt32(field[0]) | UInt32(field[1]) << 8 | UInt32(field[2]) << 16 | UInt32(field[3]) << 24)
            }
            while offset < raw.count {
                guard let kind = Kind(rawValue: try take(1)[0]) else { throw LMDBError.corrupted }
                let name = String(decoding: try take(Int(try take(1)[0])), as: UTF8.self)
                guard let db = databases[name] else { throw LMDBError.corrupted }
                switch kind {
                case .clear:
                    try LMDBError.check(mdb_drop(txn, db.dbi, 0))
                case .delete:
                    let key = try take(try length())
                    let status = TransactionCore.withVal(key) { mdb_del(txn, db.dbi, &$0, nil) }
                    if status != MDB_NOTFOUND { try LMDBError.check(status) }
                case .put:
                    let key = try take(try length())
                    let value = try take(try length())
                    let status = TransactionCore.withVal(key) { keyVal in
                        TransactionCore.withVal(value) { mdb_put(txn, db.dbi, &keyVal, &$0, 0) }
                    }
                    try LMDBError.check(status)
                }
            }
        }
    }
}
