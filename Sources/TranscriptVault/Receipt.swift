/// The receipt of a shred: what was deleted and whether its keys are destroyed yet.
///
/// A shred makes the target unreadable at once (`pending`); it is `erased` once an erasure
/// epoch has rotated the tenant's KEK past the versions that could unwrap its DEKs and rotated
/// the root past the epoch that wrapped them, so that no key able to decrypt it exists anywhere.
public struct Receipt: Sendable, Equatable {
    /// The receipt's status.
    public enum Status: String, Sendable {
        case pending
        case erased
    }

    /// What was shredded.
    public enum Target: String, Sendable {
        case conversation
        case subject
        case tenant
        case retention
    }

    /// The receipt id (32 hex digits).
    public var id: String
    /// The tenant it belongs to.
    public var tenant: String
    public var status: Status
    public var target: Target
    /// Conversations deleted.
    public var conversations: UInt64
    /// When the shred happened, in milliseconds since the Unix epoch.
    public var createdAt: Int64
}

/// A receipt as stored in the `receipts` database, keyed by its id bytes.
///
/// It records the tenant's newest KEK version and the root epoch at the time of the shred; the
/// status is computed from them and the tenant's and store's current state.
struct ReceiptRecord: Sendable {
    var tenant: UInt32
    var tenantName: String
    var target: Receipt.Target
    var conversations: UInt64
    var createdAt: Int64
    var kekVersionAtShred: UInt32
    var epochAtShred: UInt64

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 64)
        out.u8(1)
        out.u32(tenant)
        out.blob(Array(tenantName.utf8))
        out.blob(Array(target.rawValue.utf8))
        out.u64(conversations)
        out.i64(createdAt)
        out.u32(kekVersionAtShred)
        out.u64(epochAtShred)
        return out.bytes
    }

    init(tenant: UInt32, tenantName: String, target: Receipt.Target, conversations: UInt64, createdAt: Int64,
         kekVersionAtShred: UInt32, epochAtShred: UInt64) {
        self.tenant = tenant
        self.tenantName = tenantName
        self.target = target
        self.conversations = conversations
        self.createdAt = createdAt
        self.kekVersionAtShred = kekVersionAtShred
        self.epochAtShred = epochAtShred
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "receipt")
        try reader.version(1)
        tenant = try reader.u32()
        tenantName = String(decoding: try reader.blob(), as: UTF8.self)
        guard let target = Receipt.Target(rawValue: String(decoding: try reader.blob(), as: UTF8.self)) else {
            throw VaultError.recordCorrupted("receipt")
        }
        self.target = target
        conversations = try reader.u64()
        createdAt = try reader.i64()
        kekVersionAtShred = try reader.u32()
        epochAtShred = try reader.u64()
        try reader.finish()
    }

    /// Erased when the root epoch has moved past the shred's, the tenant holds no KEK version
    /// that existed at the shred (a shredded tenant holds none at all), and the tenant's
    /// pending-erasure mark (`pendingSince`: the oldest shred it waits for) is not this shred's:
    /// only a completed erasure epoch clears it, and only an epoch rotates the KEK before the
    /// root, which is what puts the DEK out of reach of copies taken in between.
    func isErased(tenant record: TenantRecord?, rootEpoch: UInt64, pendingSince: Int64? = nil) -> Bool {
        if let pendingSince, pendingSince <= createdAt { return false }
        guard rootEpoch > epochAtShred else { return false }
        guard let record else { return true }
        return record.keks.allSatisfy { $0.version > kekVersionAtShred }
    }
}
