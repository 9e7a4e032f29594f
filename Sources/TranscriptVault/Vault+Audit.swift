internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    static let auditHeadKey = Array("audit_head".utf8)

    /// Appends an audit record in `txn`, the same transaction as the action it records, so
    /// that neither exists without the other. A failure here fails the action.
    func audit(_ action: String, _ fields: [AuditRecord.Field], in txn: WriteTransaction) throws {
        let head = try txn.withValue(in: db.meta, forKey: Self.auditHeadKey) { try AuditHead(decoding: $0) }
        if let head, !head.isValid(key: auditKey) {
            throw VaultError.recordCorrupted("audit head")
        }
        let seq = (head?.seq ?? 0) + 1
        let previous = head?.mac ?? [UInt8](repeating: 0, count: 32)
        let record = AuditRecord(seq: seq, time: Clock.nowMilliseconds(), action: action, fields: fields)
        let mac = Self.auditMAC(record.body() + previous, key: auditKey)
        try txn.put(record.encoded(previous: previous, mac: mac), forKey: .bigEndian(seq), in: db.audit)
        try txn.put(AuditHead(seq: seq, mac: mac, key: auditKey).encoded(), forKey: Self.auditHeadKey, in: db.meta)
    }

    static func auditMAC(_ bytes: [UInt8], key: KeyBox) -> [UInt8] {
        KeyedHash.hash(bytes, key: key.key, domain: "audit")
    }

    /// A keyed hash standing for an identifier in audit records (hex), so the log can be
    /// searched for a known name without holding it in clear.
    public func auditHash(_ identifier: String, kind: String) -> String {
        Hex.encode(KeyedHash.hash(Array(identifier.utf8), key: auditKey.key, domain: "audit-id-" + kind, length: 16))
    }

    /// Audit records with `seq` greater than `after`, oldest first.
    public func auditRecords(after: UInt64 = 0, limit: Int = .max) throws -> [AuditRecord] {
        try environment.read { txn in
            try txn.withCursor(db.audit) { cursor in
                var records: [AuditRecord] = []
                var entry = try cursor.seek(atLeast: .bigEndian(after + 1))
                while let current = entry, records.count < limit {
                    records.append(try AuditRecord.decode(current.value).record)
                    entry = try cursor.next()
                }
                return records
            }
        }
    }

    /// The last `count` audit records, oldest first.
    public func auditTail(_ count: Int) throws -> [AuditRecord] {
        let head = try environment.read { txn in
            try txn.withValue(in: db.meta, forKey: Self.auditHeadKey) { try AuditHead(decoding: $0) }
        }
        guard let head else { return [] }
        return try auditRecords(after: head.seq > UInt64(count) ? head.seq - UInt64(count) : 0)
    }

    /// Checks the whole chain: every MAC, every link, contiguous numbering, and the head.
    ///
    /// Detects an edited, removed, reordered or truncated record; it cannot detect the whole
    /// store being replaced by an earlier copy of itself.
    public func verifyAudit() throws -> AuditVerification {
        try environment.read { txn in
            let head = try? txn.withValue(in: db.meta, forKey: Self.auditHeadKey) { try AuditHead(decoding: $0) }
            var count = 0
            var expected: UInt64 = 1
            var previous = [UInt8](repeating: 0, count: 32)
            let broken: (UInt64, String)? = try txn.withCursor(db.audit) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    let keySeq = current.key.bigEndianInteger(as: UInt64.self)
                    // A gap first: the record after a missing one is not the first broken.
                    guard keySeq == expected else { return (expected, "removed or reordered") }
                    guard let decoded = try? AuditRecord.decode(current.value) else { return (keySeq, "unreadable") }
                    count += 1
                    let mac = Self.auditMAC(decoded.record.body() + decoded.previous, key: auditKey)
                    guard KeyedHash.constantTimeEqual(mac, decoded.mac) else { return (keySeq, "edited") }
                    // A genuine record stored under another number was moved.
                    guard decoded.record.seq == keySeq else { return (keySeq, "reordered") }
                    guard KeyedHash.constantTimeEqual(decoded.previous, previous) else {
                        return (expected, "removed or reordered")
                    }
                    previous = decoded.mac
                    expected += 1
                    entry = try cursor.next()
                }
                return nil
            }
            if let broken { return AuditVerification(records: count, firstBroken: broken.0, problem: broken.1) }
            let last = expected - 1
            guard let headRecord = head ?? nil else {
                return last == 0 ? AuditVerification(records: 0) : AuditVerification(records: count, firstBroken: nil, problem: "truncated")
            }
            guard headRecord.isValid(key: auditKey) else {
                return AuditVerification(records: count, firstBroken: nil, problem: "truncated")
            }
            if headRecord.seq != last || !KeyedHash.constantTimeEqual(headRecord.mac, previous) {
                return AuditVerification(records: count, firstBroken: min(headRecord.seq, last + 1), problem: "truncated")
            }
            return AuditVerification(records: count)
        }
    }
}

/// The head of the audit chain in `meta`: the last record's number and MAC, itself MACed so
/// that removing records from the end is detected.
struct AuditHead {
    var seq: UInt64
    var mac: [UInt8]
    var headMAC: [UInt8]

    init(seq: UInt64, mac: [UInt8], key: KeyBox) {
        self.seq = seq
        self.mac = mac
        self.headMAC = KeyedHash.hash(.bigEndian(seq) + mac, key: key.key, domain: "audit-head")
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "audit head")
        try reader.version(1)
        seq = try reader.u64()
        mac = try reader.raw(32)
        headMAC = try reader.raw(32)
        try reader.finish()
    }

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 73)
        out.u8(1); out.u64(seq); out.raw(mac); out.raw(headMAC)
        return out.bytes
    }

    func isValid(key: KeyBox) -> Bool {
        KeyedHash.constantTimeEqual(KeyedHash.hash(.bigEndian(seq) + mac, key: key.key, domain: "audit-head"), headMAC)
    }
}
