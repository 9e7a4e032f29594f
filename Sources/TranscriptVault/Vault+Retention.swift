internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Sets a tenant's default retention: conversations not updated for `days` days are
    /// shredded by the sweeper. `nil` keeps conversations until deleted.
    public func setRetention(tenant: String, days: Int?) async throws {
        try TenantName.validate(tenant)
        if let days, !(1...36_500).contains(days) {
            throw VaultError.invalidArgument(field: "days", reason: "must be 1...36500")
        }
        try await writer.submit { [self] txn in
            guard var record = try tenantRecord(tenant, in: txn) else { throw VaultError.notFound }
            guard record.state == .active else { throw VaultError.tenantShredded }
            record.retentionDays = Int32(days ?? -1)
            try txn.put(record.encoded(), forKey: Array(tenant.utf8), in: db.tenants)
            try audit("retention.set", [
                .init("tenant", auditHash(tenant, kind: "tenant")), .init("days", days.map(String.init) ?? "none"),
            ], in: txn)
        }
    }

    /// Overrides the retention of one conversation (`nil`: follow the tenant's default).
    public func setRetention(tenant: String, conversationID: String, days: Int?) async throws {
        try TenantName.validate(tenant)
        try Self.validateIdentifier(conversationID, field: "conversation_id")
        if let days, !(1...36_500).contains(days) {
            throw VaultError.invalidArgument(field: "days", reason: "must be 1...36500")
        }
        try await writer.submit { [self] txn in
            let (record, keys) = try activeTenant(tenant, in: txn)
            let key = Schema.conversationKey(tenant: record.number, conversation: keys.hash(conversationID, domain: "conversation"))
            guard var conversation = try txn.withValue(in: db.conversations, forKey: key, { try ConversationRecord(decoding: $0) }) else {
                throw VaultError.notFound
            }
            conversation.retentionDays = Int32(days ?? -1)
            try txn.put(conversation.encoded(), forKey: key, in: db.conversations)
            try audit("retention.set", [
                .init("tenant", auditHash(tenant, kind: "tenant")),
                .init("conversation", auditHash(conversationID, kind: "conversation")),
                .init("days", days.map(String.init) ?? "tenant default"),
            ], in: txn)
        }
    }

    /// Shreds every conversation past its retention, exactly like a delete (one receipt per
    /// tenant and sweep, an erasure epoch to follow). Run periodically by the server.
    ///
    /// - Parameter now: the time to judge expiry by (ms since the epoch); tests pass a future.
    /// - Returns: the receipts, one per tenant that had expired conversations.
    @discardableResult
    public func sweepRetention(now: Int64? = nil) async throws -> [Receipt] {
        let now = now ?? Clock.nowMilliseconds()
        var receipts: [Receipt] = []
        for tenant in try tenantRecords() where tenant.state == .active {
            let expired = try expiredConversations(tenant: tenant, now: now)
            guard !expired.isEmpty else { continue }
            let (receipt, evict) = try await writer.submit { [self] txn -> (Receipt?, [[UInt8]]) in
                guard let record = try tenantRecord(tenant.name, in: txn), record.state == .active else { return (nil, []) }
                var deleted: [[UInt8]] = []
                for ck in expired {
                    // Judged again here: an append committed since the scan, already acknowledged,
                    // makes the conversation current, and a retention changed since counts.
                    let key = Schema.conversationKey(tenant: record.number, conversation: ck)
                    guard let current = try txn.withValue(in: db.conversations, forKey: key, { try ConversationRecord(decoding: $0) }),
                          Self.isExpired(current, tenantDays: record.retentionDays, now: now),
                          try deleteConversation(tenant: record.number, conversation: ck, in: txn)
                    else { continue }
                    deleted.append(.bigEndian(record.number) + ck)
                }
                guard !deleted.isEmpty else { return (nil, []) }
                let receipt = try issueReceipt(for: record, target: .retention, conversations: UInt64(deleted.count), in: txn)
                try audit("shred.retention", [
                    .init("tenant", auditHash(tenant.name, kind: "tenant")),
                    .init("conversations", "\(deleted.count)"), .init("receipt", receipt.id),
                ], in: txn)
                return (receipt, deleted)
            }
            for prefix in evict { dekCache.removeAll(withPrefix: prefix) }
            if let receipt {
                receipts.append(receipt)
                erasureRequested()
            }
        }
        return receipts
    }

    /// Conversations of `tenant` whose last update is older than their retention allows.
    private func expiredConversations(tenant: TenantRecord, now: Int64) throws -> [[UInt8]] {
        try environment.read { txn in
            try txn.withCursor(db.conversations) { cursor in
                let prefix = Array.bigEndian(tenant.number)
                var expired: [[UInt8]] = []
                var entry = try cursor.seek(atLeast: prefix)
                while let current = entry, current.key.hasPrefix(prefix) {
                    if Self.isExpired(try ConversationRecord(decoding: current.value), tenantDays: tenant.retentionDays, now: now) {
                        expired.append(Array(current.key[prefix.count...]))
                    }
                    entry = try cursor.next()
                }
                return expired
            }
        }
    }

    /// Whether `record` was last updated longer ago than its retention (its own, or else the
    /// tenant's `tenantDays`; none when negative) allows, judged at `now`.
    static func isExpired(_ record: ConversationRecord, tenantDays: Int32, now: Int64) -> Bool {
        let days = record.retentionDays >= 0 ? record.retentionDays : tenantDays
        return days > 0 && record.updatedAt + Int64(days) * 86_400_000 <= now
    }
}
