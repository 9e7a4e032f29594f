internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Deletes a conversation at once: its DEK and every record of it go in one transaction,
    /// and reads answer `notFound` from then on. An erasure epoch follows (see
    /// ``runErasureEpoch()``) that destroys every key that ever wrapped its DEK.
    ///
    /// ```swift
    /// let receipt = try await vault.shredConversation(tenant: "acme", conversationID: "c-1")
    /// // receipt.status == .pending, until the next erasure epoch
    /// ```
    ///
    /// - Throws: ``VaultError/notFound`` when there is no such conversation.
    public func shredConversation(tenant: String, conversationID: String) async throws -> Receipt {
        try TenantName.validate(tenant)
        try Self.validateIdentifier(conversationID, field: "conversation_id")
        let (receipt, evict) = try await writer.submit { [self] txn -> (Receipt, [[UInt8]]) in
            let (record, keys) = try activeTenant(tenant, in: txn)
            let ck = keys.hash(conversationID, domain: "conversation")
            guard try deleteConversation(tenant: record.number, conversation: ck, in: txn) else { throw VaultError.notFound }
            let receipt = try issueReceipt(for: record, target: .conversation, conversations: 1, in: txn)
            try audit("shred.conversation", [
                .init("tenant", auditHash(tenant, kind: "tenant")),
                .init("conversation", auditHash(conversationID, kind: "conversation")),
                .init("receipt", receipt.id),
            ], in: txn)
            return (receipt, [.bigEndian(record.number) + ck])
        }
        for prefix in evict { dekCache.removeAll(withPrefix: prefix) }
        erasureRequested()
        return receipt
    }

    /// Deletes every conversation of a subject at once, in one transaction, with one receipt.
    ///
    /// - Returns: the receipt and the number of conversations deleted (possibly 0).
    public func eraseSubject(tenant: String, subjectID: String) async throws -> (receipt: Receipt, conversations: Int) {
        try TenantName.validate(tenant)
        try Self.validateIdentifier(subjectID, field: "subject_id")
        let result = try await writer.submit { [self] txn -> (Receipt, Int, [[UInt8]]) in
            let (record, keys) = try activeTenant(tenant, in: txn)
            let conversations = try subjectConversations(subjectID, tenant: record, keys: keys, in: txn)
            var deleted = 0
            for ck in conversations where try deleteConversation(tenant: record.number, conversation: ck, in: txn) {
                deleted += 1
            }
            let receipt = try issueReceipt(for: record, target: .subject, conversations: UInt64(deleted), in: txn)
            try audit("shred.subject", [
                .init("tenant", auditHash(tenant, kind: "tenant")),
                .init("subject", auditHash(subjectID, kind: "subject")),
                .init("conversations", "\(deleted)"),
                .init("receipt", receipt.id),
            ], in: txn)
            return (receipt, deleted, conversations.map { .bigEndian(record.number) + $0 })
        }
        for prefix in result.2 { dekCache.removeAll(withPrefix: prefix) }
        erasureRequested()
        return (result.0, result.1)
    }

    /// The record and keys of an active tenant in a write transaction.
    func activeTenant(_ name: String, in txn: WriteTransaction) throws -> (TenantRecord, TenantKeys) {
        guard let record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
        return (record, try keys(for: record))
    }

    /// Deletes a conversation's record, messages, index entries and idempotency keys.
    ///
    /// - Returns: `false` when the conversation did not exist.
    func deleteConversation(tenant: UInt32, conversation ck: [UInt8], in txn: WriteTransaction) throws -> Bool {
        let key = Schema.conversationKey(tenant: tenant, conversation: ck)
        guard let record = try txn.withValue(in: db.conversations, forKey: key, { try ConversationRecord(decoding: $0) }) else {
            return false
        }
        try txn.delete(forKey: key, in: db.conversations)
        try deletePrefix(key, in: db.messages, txn: txn)
        try deletePrefix(key, in: db.idempotency, txn: txn)
        try txn.delete(forKey: Schema.timeKey(tenant: tenant, updatedAt: record.updatedAt, conversation: ck), in: db.times)
        if !record.subjectHash.isEmpty {
            try txn.delete(forKey: Schema.subjectKey(tenant: tenant, subject: record.subjectHash, conversation: ck), in: db.subjects)
        }
        return true
    }

    /// The keyed hashes of the conversations of a tenant's subject (its `subjects` index entries).
    func subjectConversations(_ subjectID: String, tenant: TenantRecord, keys: TenantKeys, in txn: WriteTransaction) throws -> [[UInt8]] {
        let prefix = Array.bigEndian(tenant.number) + keys.hash(subjectID, domain: "subject")
        var conversations: [[UInt8]] = []
        try txn.withCursor(db.subjects) { cursor in
            var entry = try cursor.seek(atLeast: prefix)
            while let current = entry, current.key.hasPrefix(prefix) {
                conversations.append(Array(current.key[prefix.count...]))
                entry = try cursor.next()
            }
        }
        return conversations
    }

    /// Deletes up to `limit` entries whose key starts with `prefix`; returns how many.
    @discardableResult
    func deletePrefix(_ prefix: [UInt8], in db: Database, txn: WriteTransaction, limit: Int = .max) throws -> Int {
        try txn.withCursor(db) { cursor in
            var count = 0
            var entry = try cursor.seek(atLeast: prefix)
            while let current = entry, current.key.hasPrefix(prefix), count < limit {
                try cursor.deleteCurrent()
                count += 1
                // After a delete the cursor sits on the next entry; re-read it.
                entry = try cursor.seek(atLeast: prefix)
            }
            return count
        }
    }

    /// How many entries of `db` start with `prefix`.
    func countPrefix(_ prefix: [UInt8], in db: Database, txn: WriteTransaction) throws -> UInt64 {
        try txn.withCursor(db) { cursor in
            var count: UInt64 = 0
            var entry = try cursor.seek(atLeast: prefix)
            while let current = entry, current.key.hasPrefix(prefix) {
                count += 1
                entry = try cursor.next()
            }
            return count
        }
    }

    /// Writes a receipt and marks the tenant as needing an erasure epoch.
    func issueReceipt(for tenant: TenantRecord, target: Receipt.Target, conversations: UInt64, in txn: WriteTransaction) throws -> Receipt {
        let id = SecureRandom.bytes(16)
        let record = ReceiptRecord(
            tenant: tenant.number, tenantName: tenant.name, target: target, conversations: conversations,
            createdAt: Clock.nowMilliseconds(), kekVersionAtShred: tenant.keks.map(\.version).max() ?? tenant.currentKEK,
            epochAtShred: try rootEpoch(in: txn))
        try txn.put(record.encoded(), forKey: id, in: db.receipts)
        try markErasurePending(tenant: tenant.number, at: record.createdAt, in: txn)
        return Receipt(id: Hex.encode(id), tenant: tenant.name, status: .pending, target: target,
                       conversations: conversations, createdAt: record.createdAt)
    }

    /// The receipt `id`, with its current status. With `tenant` (a client asking), a receipt of
    /// another tenant is `notFound`, exactly like a missing one, and a tenant scheduled for
    /// shredding or shredded answers `tenantShredded`, as for every other client call; without
    /// it (an administrator), every receipt is found, a whole tenant's shred included.
    public func receipt(id: String, tenant: String? = nil) throws -> Receipt {
        return try environment.read { txn in
            if let tenant {
                guard let asking = try tenantRecord(tenant, in: txn) else { throw VaultError.notFound }
                guard asking.state == .active else { throw VaultError.tenantShredded }
            }
            guard let key = Hex.decode(id), key.count == 16 else { throw VaultError.notFound }
            guard let record = try txn.withValue(in: db.receipts, forKey: key, { try ReceiptRecord(decoding: $0) }),
                  tenant == nil || tenant == record.tenantName
            else { throw VaultError.notFound }
            let current = try tenantRecord(record.tenantName, in: txn)
            let pending = try txn.value(in: db.erasures, forKey: .bigEndian(record.tenant)).flatMap { try? Self.erasureSince($0) }
            let erased = record.isErased(tenant: current?.number == record.tenant ? current : nil, rootEpoch: try rootEpoch(in: txn),
                                         pendingSince: pending)
            return Receipt(id: id, tenant: record.tenantName, status: erased ? .erased : .pending, target: record.target,
                           conversations: record.conversations, createdAt: record.createdAt)
        }
    }
}
