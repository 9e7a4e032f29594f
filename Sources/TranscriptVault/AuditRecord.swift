/// One record of the audit log: what happened, when, to what (identifiers only as keyed
/// hashes), chained to the record before it by a keyed MAC. Never content or keys.
public struct AuditRecord: Sendable, Equatable {
    /// The record's position in the log, from 1.
    public var seq: UInt64
    /// When it was written, in milliseconds since the Unix epoch.
    public var time: Int64
    /// What happened, e.g. `tenant.create`, `token.revoke`, `auth.refused`, `shred.conversation`.
    public var action: String
    /// Non-secret details: keyed hashes of identifiers (hex), versions, counts, token ids.
    public var fields: [Field]

    /// One detail of a record.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The value of the field `name`, if present.
    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The bytes the MAC covers (everything but the MACs).
    func body() -> [UInt8] {
        var out = RecordWriter(capacity: 96)
        out.u8(1)
        out.u64(seq)
        out.i64(time)
        out.blob(Array(action.utf8))
        out.u32(UInt32(fields.count))
        for field in fields {
            out.blob(Array(field.name.utf8))
            out.blob(Array(field.value.utf8))
        }
        return out.bytes
    }

    /// Stored form: `body ‖ previous MAC ‖ MAC`.
    func encoded(previous: [UInt8], mac: [UInt8]) -> [UInt8] { body() + previous + mac }

    /// Decodes a stored record into the record and its two MACs.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (record: AuditRecord, previous: [UInt8], mac: [UInt8]) {
        var reader = RecordReader(bytes, kind: "audit record")
        try reader.version(1)
        let seq = try reader.u64()
        let time = try reader.i64()
        let action = String(decoding: try reader.blob(), as: UTF8.self)
        let count = try reader.u32()
        guard count < 256 else { throw VaultError.recordCorrupted("audit record") }
        let fields = try (0..<count).map { _ in
            Field(String(decoding: try reader.blob(), as: UTF8.self), String(decoding: try reader.blob(), as: UTF8.self))
        }
        let previous = try reader.raw(32)
        let mac = try reader.raw(32)
        try reader.finish()
        return (AuditRecord(seq: seq, time: time, action: action, fields: fields), previous, mac)
    }
}

/// What `audit verify` found.
public struct AuditVerification: Sendable, Equatable {
    /// Records checked.
    public var records: Int
    /// The first record that failed, or `nil` when the chain is whole.
    public var firstBroken: UInt64?
    /// Why it failed: `edited`, `reordered`, `removed or reordered`, `truncated`, `unreadable`.
    public var problem: String?

    /// Whether the log is intact.
    public var isIntact: Bool { firstBroken == nil && problem == nil }
}
