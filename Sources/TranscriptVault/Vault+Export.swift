internal import TranscriptCrypto
internal import TranscriptStorage

/// One conversation of a subject export.
public struct ExportedConversation: Sendable, Equatable {
    public var conversation: ConversationSummary
    public var messages: [StoredMessage]
}

extension Vault {
    /// Every conversation of a subject with all its messages, byte-exact (a data subject's
    /// access request). The export is recorded in the audit log in the same transaction that
    /// reads the data.
    public func exportSubject(tenant: String, subjectID: String) async throws -> [ExportedConversation] {
        try TenantName.validate(tenant)
        try Self.validateIdentifier(subjectID, field: "subject_id")
        return try await writer.submit { [self] txn -> [ExportedConversation] in
            let (record, keys) = try activeTenant(tenant, in: txn)
            let conversations = try subjectConversations(subjectID, tenant: record, keys: keys, in: txn)
            var exported: [ExportedConversation] = []
            for ck in conversations {
                let key = Schema.conversationKey(tenant: record.number, conversation: ck)
                guard let conversation = try txn.withValue(in: db.conversations, forKey: key, { try ConversationRecord(decoding: $0) }) else {
                    continue
                }
                let dek = try dataKey(tenant: keys, conversation: ck, record: conversation)
                let metadata = try openMetadata(conversation, dek: dek, tenant: record.number, conversation: ck)
                var messages: [StoredMessage] = []
                try txn.withCursor(db.messages) { cursor in
                    var entry = try cursor.seek(atLeast: key)
                    while let current = entry, current.key.hasPrefix(key) {
                        messages.append(try openMessage(current, tenant: record.number, conversation: ck, dek: dek))
                        entry = try cursor.next()
                    }
                }
                exported.append(ExportedConversation(
                    conversation: ConversationSummary(
                        conversationID: metadata.conversationID, subjectID: metadata.subjectID, format: metadata.format,
                        metadata: metadata.metadata, createdAt: conversation.createdAt, updatedAt: conversation.updatedAt,
                        messageCount: conversation.messageCount),
                    messages: messages))
            }
            try audit("export.subject", [
                .init("tenant", auditHash(tenant, kind: "tenant")),
                .init("subject", auditHash(subjectID, kind: "subject")),
                .init("conversations", "\(exported.count)"),
            ], in: txn)
            return exported
        }
    }
}
