/// The named LMDB databases of a store and how their keys are built (DESIGN §3).
///
/// Keys begin with the tenant's 4-byte number so that one tenant's records are contiguous,
/// then 16-byte keyed hashes of client identifiers, then big-endian counters so that byte
/// order is numeric order.
enum Schema {
    static let formatVersion: UInt8 = 1

    static let meta = "meta"
    static let tenants = "tenants"
    static let tokens = "tokens"
    static let conversations = "conversations"
    static let messages = "messages"
    static let subjects = "subjects"
    static let times = "times"
    static let idempotency = "idempotency"
    static let erasures = "erasures"
    static let receipts = "receipts"
    static let audit = "audit"

    static let all = [meta, tenants, tokens, conversations, messages, subjects, times, idempotency, erasures, receipts, audit]

    enum MetaKey {
        static let format = Array("format".utf8)
        static let storeID = Array("store_id".utf8)
        static let rootEpoch = Array("root_epoch".utf8)
        static let nextTenant = Array("next_tenant".utf8)
    }

    /// Length of the keyed hashes that stand for client identifiers in keys.
    static let idHashLength = 16

    static func conversationKey(tenant: UInt32, conversation: [UInt8]) -> [UInt8] {
        .bigEndian(tenant) + conversation
    }

    static func messageKey(tenant: UInt32, conversation: [UInt8], seq: UInt64) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(28)
        key += .bigEndian(tenant)
        key += conversation
        key += .bigEndian(seq)
        return key
    }

    static func subjectKey(tenant: UInt32, subject: [UInt8], conversation: [UInt8]) -> [UInt8] {
        .bigEndian(tenant) + subject + conversation
    }

    static func timeKey(tenant: UInt32, updatedAt: Int64, conversation: [UInt8]) -> [UInt8] {
        .bigEndian(tenant) + .bigEndian(UInt64(bitPattern: updatedAt)) + conversation
    }

    /// Idempotency keys are scoped to their conversation, so that shredding a conversation
    /// finds them by prefix.
    static func idempotencyKey(tenant: UInt32, conversation: [UInt8], key: [UInt8]) -> [UInt8] {
        .bigEndian(tenant) + conversation + key
    }
}

/// Associated data for every sealed value, binding it to where it belongs (DESIGN §2).
enum AssociatedData {
    static func kek(storeID: [UInt8], tenant: UInt32, version: UInt32, epoch: UInt64) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.kek.v1".utf8)); ad.raw(storeID); ad.u32(tenant); ad.u32(version); ad.u64(epoch)
        return ad.bytes
    }

    static func indexKey(storeID: [UInt8], tenant: UInt32, epoch: UInt64) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.index.v1".utf8)); ad.raw(storeID); ad.u32(tenant); ad.u64(epoch)
        return ad.bytes
    }

    private static let dekLabel = Array("tvault.dek.v1".utf8)
    /// Where the conversation key and the KEK version sit in ``dek(storeID:tenant:conversation:kekVersion:)``.
    static let dekConversationRange = (13 + 16 + 4)..<(13 + 16 + 4 + 16)
    static let dekVersionRange = (13 + 16 + 4 + 16)..<(13 + 16 + 4 + 16 + 4)

    static func dek(storeID: [UInt8], tenant: UInt32, conversation: [UInt8], kekVersion: UInt32) -> [UInt8] {
        var ad = RecordWriter(capacity: 56)
        ad.raw(dekLabel); ad.raw(storeID); ad.u32(tenant); ad.raw(conversation); ad.u32(kekVersion)
        return ad.bytes
    }

    static func metadata(tenant: UInt32, conversation: [UInt8]) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.meta.v1".utf8)); ad.u32(tenant); ad.raw(conversation); ad.u8(1)
        return ad.bytes
    }

    private static let messageLabel = Array("tvault.msg.v1".utf8)

    static func message(tenant: UInt32, conversation: [UInt8], seq: UInt64, createdAt: Int64) -> [UInt8] {
        var ad = RecordWriter(capacity: 56)
        ad.raw(messageLabel); ad.u32(tenant); ad.raw(conversation); ad.u64(seq); ad.i64(createdAt); ad.u8(1)
        return ad.bytes
    }
}
