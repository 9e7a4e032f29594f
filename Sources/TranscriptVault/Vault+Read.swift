internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// The message bytes after which a page of ``read(tenant:conversationID:afterSeq:limit:maxBytes:)``
    /// stops, once it holds at least one message.
    public static let readPageBytes = 8 << 20

    /// Reads a page of a conversation's messages, in sequence order, after `afterSeq`.
    ///
    /// ```swift
    /// var page = try vault.read(tenant: "acme", conversationID: "c-1", limit: 100)
    /// while let next = page.nextAfterSeq { page = try vault.read(tenant: "acme", conversationID: "c-1", afterSeq: next) }
    /// ```
    ///
    /// A page holds at most `limit` messages, and stops early, after at least one message, once
    /// its messages pass `maxBytes` (``readPageBytes`` by default): a page of 1,000 messages of
    /// 4 MiB would otherwise be 4 GiB in memory. `nextAfterSeq` then continues where it stopped.
    ///
    /// - Throws: ``VaultError/notFound`` for an unknown tenant or conversation,
    ///   ``VaultError/tenantShredded``, ``VaultError/recordCorrupted(_:)`` when a stored record
    ///   fails to authenticate (no wrong plaintext is ever returned).
    public func read(
        tenant: String, conversationID: String, afterSeq: UInt64 = 0, limit: Int = 100, maxBytes: Int = Vault.readPageBytes
    ) throws -> MessagePage {
        try TenantName.validate(tenant)
        try Self.validateIdentifier(conversationID, field: "conversation_id")
        guard (1...1000).contains(limit) else { throw VaultError.invalidArgument(field: "limit", reason: "must be 1...1000") }
        let mark = cacheMark()
        return try environment.read { txn in
            guard let record = try tenantRecord(tenant, in: txn) else { throw VaultError.notFound }
            let keys = try keys(for: record, since: mark)
            let ck = keys.hash(conversationID, domain: "conversation")
            guard let conversation = try txn.withValue(
                in: db.conversations, forKey: Schema.conversationKey(tenant: record.number, conversation: ck),
                { try ConversationRecord(decoding: $0) })
            else { throw VaultError.notFound }
            // No sequence number follows the largest one; `afterSeq + 1` would wrap to the start.
            guard afterSeq < UInt64.max else { return MessagePage(messages: [], nextAfterSeq: nil) }
            let dek = try dataKey(tenant: keys, conversation: ck, record: conversation, since: mark)
            let prefix = Schema.conversationKey(tenant: record.number, conversation: ck)
            return try txn.withCursor(db.messages) { cursor in
                var messages: [StoredMessage] = []
                messages.reserveCapacity(min(limit, Int(conversation.messageCount)))
                var bytes = 0
                var entry = try cursor.seek(atLeast: Schema.messageKey(
                    tenant: record.number, conversation: ck, seq: afterSeq + 1))
                while let current = entry, current.key.hasPrefix(prefix), messages.count < limit, bytes < maxBytes {
                    let message = try openMessage(current, tenant: record.number, conversation: ck, dek: dek)
                    bytes += message.message.count
                    messages.append(message)
                    entry = try cursor.next()
                }
                var hasMore = false
                if let current = entry, current.key.hasPrefix(prefix) { hasMore = true }
                return MessagePage(messages: messages, nextAfterSeq: hasMore ? messages.last?.seq : nil)
            }
        }
    }

    /// Opens one stored message; its key gives the sequence number the seal is bound to.
    func openMessage(_ entry: Cursor.Entry, tenant: UInt32, conversation ck: [UInt8], dek: KeyBox) throws -> StoredMessage {
        guard entry.key.count == 4 + Schema.idHashLength + 8 else { throw VaultError.recordCorrupted("message key") }
        let seq = entry.key[(entry.key.count - 8)...].bigEndianInteger(as: UInt64.self)
        var reader = RecordReader(entry.value, kind: "message")
        try reader.version(1)
        let createdAt = try reader.i64()
        let sealed = try reader.rest()
        do {
            let clear = try AEAD.open(sealed, using: dek.key, authenticating: AssociatedData.message(
                tenant: tenant, conversation: ck, seq: seq, createdAt: createdAt))
            return StoredMessage(seq: seq, createdAt: createdAt, message: clear)
        } catch {
            throw VaultError.recordCorrupted("message")
        }
    }
}
