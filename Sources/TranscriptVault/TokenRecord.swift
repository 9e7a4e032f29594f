/// A token as stored in the `tokens` database, keyed by its id: a keyed hash of the secret,
/// never the secret.
struct TokenRecord: Sendable {
    var secretHash: [UInt8]
    var tenants: [String]?
    var scopes: UInt8
    var createdAt: Int64
    var revoked: Bool

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 96)
        out.u8(1)
        out.blob(secretHash)
        out.u8(scopes)
        out.i64(createdAt)
        out.u8(revoked ? 1 : 0)
        if let tenants {
            out.u8(1)
            out.u32(UInt32(tenants.count))
            for tenant in tenants { out.blob(Array(tenant.utf8)) }
        } else {
            out.u8(0)
        }
        return out.bytes
    }

    init(secretHash: [UInt8], tenants: [String]?, scopes: UInt8, createdAt: Int64) {
        self.secretHash = secretHash
        self.tenants = tenants
        self.scopes = scopes
        self.createdAt = createdAt
        self.revoked = false
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "token record")
        try reader.version(1)
        secretHash = try reader.blob()
        scopes = try reader.u8()
        createdAt = try reader.i64()
        revoked = try reader.u8() == 1
        if try reader.u8() == 1 {
            let count = try reader.u32()
            guard count < 1 << 16 else { throw VaultError.recordCorrupted("token record") }
            tenants = try (0..<count).map { _ in String(decoding: try reader.blob(), as: UTF8.self) }
        } else {
            tenants = nil
        }
        try reader.finish()
    }
}
