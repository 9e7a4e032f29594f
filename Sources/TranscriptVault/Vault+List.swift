internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Lists a tenant's conversations: by subject (in an order stable across pages), or by
    /// time of last update (oldest first), optionally within `(updatedAfter, updatedBefore)`.
    ///
    /// ```swift
    /// let page = try vault.list(tenant: "acme", query: ListQuery(subjectID: "user-7"))
    /// ```
    ///
    /// - Throws: ``VaultError/invalidArgument(field:reason:)`` for a bad limit or cursor,
    ///   ``VaultError/notFound`` for an unknown tenant, ``VaultError/tenantShredded``.
    public func list(tenant: String, query: ListQuery) throws -> ConversationPage {
        try TenantName.validate(tenant)
        if let subject = query.subjectID { try Self.validateIdentifier(subject, field: "subject_id") }
        guard (1...1000).contains(query.limit) else { throw VaultError.invalidArgument(field: "limit", reason: "must be 1...1000") }
        let cursorBytes = try query.cursor.map { try Self.decodeCursor($0, length: query.subjectID == nil ? 24 : 16) }
        let mark = cacheMark()
        return try environment.read { txn in
            guard let record = try tenantRecord(tenant, in: txn) else { throw VaultError.notFound }
            let keys = try keys(for: record, since: mark)
            let tenantPrefix = Array.bigEndian(record.number)
            var summaries: [ConversationSummary] = []
            var lastPosition: [UInt8]?
            var hasMore = false

            // Each index entry names a conversation; the summary comes from its record.
            func visit(_ ck: [UInt8]) throws {
                guard let conversation = try txn.withValue(
                    in: db.conversations, forKey: tenantPrefix + ck, { try ConversationRecord(decoding: $0) })
                else { return }
                if let after = query.updatedAfter, conversation.updatedAt <= after { return }
                if let before = query.updatedBefore, conversation.updatedAt >= before { return }
                let dek = try dataKey(tenant: keys, conversation: ck, record: conversation, since: mark)
                let metadata = try openMetadata(conversation, dek: dek, tenant: record.number, conversation: ck)
                summaries.append(ConversationSummary(
                    conversationID: metadata.conversationID, subjectID: metadata.subjectID, format: metadata.format,
                    metadata: metadata.metadata, createdAt: conversation.createdAt, updatedAt: conversation.updatedAt,
                    messageCount: conversation.messageCount))
            }

            if let subjectID = query.subjectID {
                let prefix = tenantPrefix + keys.hash(subjectID, domain: "subject")
                try txn.withCursor(db.subjects) { cursor in
                    var entry = try cursor.seek(atLeast: cursorBytes.map { prefix + $0 + [0] } ?? prefix)
                    while let current = entry, current.key.hasPrefix(prefix) {
                        if summaries.count == query.limit { hasMore = true; break }
                        let ck = Array(current.key[prefix.count...])
                        try visit(ck)
                        lastPosition = ck
                        entry = try cursor.next()
                    }
                }
            } else {
                let start: [UInt8]
                if let cursorBytes {
                    start = tenantPrefix + cursorBytes + [0]
                } else if let after = query.updatedAfter, after < Int64.max {
                    start = tenantPrefix + .bigEndian(UInt64(bitPattern: max(after + 1, 0)))
                } else {
                    start = tenantPrefix
                }
                try txn.withCursor(db.times) { cursor in
                    var entry = try cursor.seek(atLeast: start)
                    while let current = entry, current.key.hasPrefix(tenantPrefix) {
                        let position = Array(current.key[tenantPrefix.count...])
                        let updatedAt = Int64(bitPattern: position[0..<8].bigEndianInteger(as: UInt64.self))
                        if let before = query.updatedBefore, updatedAt >= before { break }
                        if summaries.count == query.limit { hasMore = true; break }
                        try visit(Array(position[8...]))
                        lastPosition = position
                        entry = try cursor.next()
                    }
                }
            }
            return ConversationPage(conversations: summaries, nextCursor: hasMore ? lastPosition.map(Hex.encode) : nil)
        }
    }

    /// The bytes of a listing cursor of `length` bytes, or `invalidArgument("cursor")`.
    static func decodeCursor(_ text: String, length: Int) throws -> [UInt8] {
        guard let bytes = Hex.decode(text), bytes.count == length else {
            throw VaultError.invalidArgument(field: "cursor", reason: "not a cursor of this listing")
        }
        return bytes
    }
}
