internal import TranscriptCrypto
internal import TranscriptStorage

/// The pending result of a queued append.
public struct AppendTicket: Sendable {
    let ticket: WriteTicket<AppendResult>

    /// Waits until the append is durable and returns its sequence numbers.
    public func value() async throws -> AppendResult { try await ticket.value() }

    /// Calls `body` once the append is durable (or has failed), without a task: on the
    /// store's writer thread, so `body` must only hand the result on (to an event loop, say).
    ///
    /// With an `observer`, `body` should only hand the result to it; the observer is told once
    /// per batch, after the callbacks of every append of the batch registered with it, so that
    /// it can wake its event loop once for them all.
    public func whenComplete(
        observer: (any WriteBatchObserver)? = nil, _ body: @escaping @Sendable (Result<AppendResult, any Error>) -> Void
    ) {
        ticket.whenComplete(observer: observer, body)
    }
}

extension Vault {
    /// The longest client identifier accepted, in UTF-8 bytes.
    public static let maxIdentifierBytes = 256

    /// Appends messages to a conversation, creating it (and its DEK) on the first append.
    ///
    /// Each message is stored as the exact bytes given and sealed under the conversation's DEK
    /// with associated data binding tenant, conversation, sequence number and time. The call
    /// returns once the write is durable.
    ///
    /// ```swift
    /// let result = try await vault.append(AppendRequest(
    ///     tenant: "acme", conversationID: "c-1", messages: [Array(#"{"role":"user","content":"hi"}"#.utf8)]))
    /// // result.firstSeq == 1
    /// ```
    ///
    /// - Throws: ``VaultError/invalidArgument(field:reason:)``, ``VaultError/tooLarge(_:)``,
    ///   ``VaultError/notFound`` (no such tenant), ``VaultError/tenantShredded``,
    ///   ``VaultError/conflict`` (idempotency key reused with other content),
    ///   ``VaultError/unavailable(_:)``.
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await enqueueAppend(request).value()
    }

    /// Validates and queues an append now, returning a ticket for its durable result.
    ///
    /// Appends queued one after another from one thread are committed in that order, which
    /// lets a connection pipeline appends (they share group commits) without reordering them.
    ///
    /// ```swift
    /// let first = try vault.enqueueAppend(a)
    /// let second = try vault.enqueueAppend(b)   // committed after `a`
    /// let result = try await first.value()
    /// ```
    ///
    /// With `mayCommitHere`, an append arriving while the store is idle (no other writer seen
    /// lately) is committed on the calling thread, which then blocks for the fsync: a lone
    /// client's append costs no hand-off to the writer thread and back. For callers that may
    /// block, such as an event loop; never from Swift concurrency's cooperative threads.
    public func enqueueAppend(_ request: AppendRequest, mayCommitHere: Bool = false) throws -> AppendTicket {
        try validate(request)
        return AppendTicket(ticket: writer.enqueue(isolated: false, mayCommitHere: mayCommitHere) { [self] txn in
            try applyAppend(request, in: txn)
        })
    }

    func validate(_ request: AppendRequest) throws {
        try TenantName.validate(request.tenant)
        try Self.validateIdentifier(request.conversationID, field: "conversation_id")
        if let subject = request.subjectID { try Self.validateIdentifier(subject, field: "subject_id") }
        if let key = request.idempotencyKey { try Self.validateIdentifier(key, field: "idempotency_key") }
        if let format = request.format, format.utf8.count > Self.maxIdentifierBytes {
            throw VaultError.invalidArgument(field: "format", reason: "longer than \(Self.maxIdentifierBytes) bytes")
        }
        guard !request.messages.isEmpty else { throw VaultError.invalidArgument(field: "messages", reason: "must not be empty") }
        guard request.messages.count <= configuration.maxMessagesPerAppend else {
            throw VaultError.tooLarge("more than \(configuration.maxMessagesPerAppend) messages in one append")
        }
        for message in request.messages {
            guard !message.isEmpty else { throw VaultError.invalidArgument(field: "messages", reason: "a message is empty") }
            guard message.count <= configuration.maxMessageBytes else {
                throw VaultError.tooLarge("message larger than \(configuration.maxMessageBytes) bytes")
            }
        }
        if let metadata = request.metadata, metadata.count > configuration.maxMessageBytes {
            throw VaultError.tooLarge("metadata larger than \(configuration.maxMessageBytes) bytes")
        }
    }

    static func validateIdentifier(_ value: String, field: String) throws {
        guard !value.isEmpty else { throw VaultError.invalidArgument(field: field, reason: "must not be empty") }
        guard value.utf8.count <= maxIdentifierBytes else {
            throw VaultError.invalidArgument(field: field, reason: "longer than \(maxIdentifierBytes) bytes")
        }
    }

    /// The append itself, on the writer thread. Every check and every seal happens before the
    /// first write, so a thrown domain error leaves the batch's transaction untouched.
    private func applyAppend(_ request: AppendRequest, in txn: WriteTransaction) throws -> AppendResult {
        guard let tenant = try tenantRecord(request.tenant, in: txn) else { throw VaultError.notFound }
        let keys = try keys(for: tenant)
        let ck = keys.hash(request.conversationID, domain: "conversation")
        let conversationKey = Schema.conversationKey(tenant: tenant.number, conversation: ck)

        // The record key of an idempotency key (a keyed hash of an identifier, like the
        // conversation's), and what it remembers from an earlier append.
        var idempotencyRecordKey: [UInt8]?
        var previous: IdempotencyRecord?
        if let idempotencyKey = request.idempotencyKey {
            let key = Schema.idempotencyKey(tenant: tenant.number, conversation: ck, key: keys.hash(idempotencyKey, domain: "idempotency"))
            idempotencyRecordKey = key
            previous = try txn.withValue(in: db.idempotency, forKey: key) { try IdempotencyRecord(decoding: $0) }
        }
        let stored = try txn.withValue(in: db.conversations, forKey: conversationKey) { try ConversationRecord(decoding: $0) }
        if let previous {
            // A retry is answered from the record, if it carries the same content. The content
            // hash is keyed with the conversation's DEK, so it is as gone as the messages once the
            // conversation is shredded (records of format 1 used the tenant's index key).
            guard previous.conversation == ck, let stored else { throw VaultError.conflict }
            let content = previous.format == 1
                ? Self.idempotencyContentHash(request, key: keys.indexKey.key)
                : Self.idempotencyContentHash(request, key: try dataKey(tenant: keys, conversation: ck, record: stored).key)
            guard KeyedHash.constantTimeEqual(previous.contentHash, content) else { throw VaultError.conflict }
            return AppendResult(conversationID: request.conversationID, firstSeq: previous.firstSeq, lastSeq: previous.lastSeq)
        }

        let subjectHash = request.subjectID.map { keys.hash($0, domain: "subject") }
        var conversation: ConversationRecord
        let dek: KeyBox
        var previousUpdate: Int64?
        var newSubject = false
        if let existing = stored {
            conversation = existing
            previousUpdate = existing.updatedAt
            dek = try dataKey(tenant: keys, conversation: ck, record: existing)
            if let subjectHash {
                if existing.subjectHash.isEmpty {
                    newSubject = true
                } else if !KeyedHash.constantTimeEqual(existing.subjectHash, subjectHash) {
                    throw VaultError.invalidArgument(field: "subject_id", reason: "differs from the conversation's subject")
                }
            }
            if newSubject || request.format != nil || request.metadata != nil {
                var metadata = try openMetadata(existing, dek: dek, tenant: tenant.number, conversation: ck)
                if newSubject { metadata.subjectID = request.subjectID; conversation.subjectHash = subjectHash ?? [] }
                if let format = request.format { metadata.format = format }
                if let bytes = request.metadata { metadata.metadata = bytes }
                conversation.sealedMetadata = try AEAD.seal(
                    metadata.encoded(), using: dek.key,
                    authenticating: AssociatedData.metadata(tenant: tenant.number, conversation: ck))
            }
        } else {
            guard let kek = keys.keks[keys.currentKEK] else { throw VaultError.recordCorrupted("tenant record") }
            let key = try SecretKey.random()
            let sealedDEK = try AEAD.sealKey(key, using: kek.key, authenticating: AssociatedData.dek(
                storeID: storeID, tenant: tenant.number, conversation: ck, kekVersion: keys.currentKEK))
            dek = KeyBox(key)
            // Cached now so that the next append does not unwrap it again; if this batch
            // fails, the entry is simply never asked for (its key names this sealed DEK).
            dekCache.insert(dek, for: Array.bigEndian(tenant.number) + ck + sealedDEK)
            let metadata = ConversationMetadata(
                conversationID: request.conversationID, subjectID: request.subjectID,
                format: request.format, metadata: request.metadata)
            conversation = ConversationRecord(
                kekVersion: keys.currentKEK, sealedDEK: sealedDEK, createdAt: Clock.nowMilliseconds(),
                subjectHash: subjectHash ?? [],
                sealedMetadata: try AEAD.seal(metadata.encoded(), using: dek.key,
                                              authenticating: AssociatedData.metadata(tenant: tenant.number, conversation: ck)))
            newSubject = subjectHash != nil
        }

        // Times never go backwards within a conversation, so `times` stays ordered by update.
        let now = max(Clock.nowMilliseconds(), conversation.updatedAt)
        let firstSeq = conversation.lastSeq + 1
        var sealedMessages: [(key: [UInt8], value: [UInt8])] = []
        sealedMessages.reserveCapacity(request.messages.count)
        var bytes: UInt64 = 0
        for (offset, message) in request.messages.enumerated() {
            let seq = firstSeq + UInt64(offset)
            let sealed = try AEAD.seal(message, using: dek.key, authenticating: AssociatedData.message(
                tenant: tenant.number, conversation: ck, seq: seq, createdAt: now))
            var value = RecordWriter(capacity: sealed.count + 9)
            value.u8(1)
            value.i64(now)
            value.raw(sealed)
            sealedMessages.append((Schema.messageKey(tenant: tenant.number, conversation: ck, seq: seq), value.bytes))
            bytes += UInt64(message.count)
        }
        let lastSeq = firstSeq + UInt64(request.messages.count) - 1
        conversation.lastSeq = lastSeq
        conversation.messageCount += UInt64(request.messages.count)
        conversation.byteCount += bytes
        conversation.updatedAt = now

        // From here on only storage errors can be thrown.
        for (key, value) in sealedMessages { try txn.put(value, forKey: key, in: db.messages) }
        try txn.put(conversation.encoded(), forKey: conversationKey, in: db.conversations)
        if let previousUpdate {
            try txn.delete(forKey: Schema.timeKey(tenant: tenant.number, updatedAt: previousUpdate, conversation: ck), in: db.times)
        }
        try txn.put([], forKey: Schema.timeKey(tenant: tenant.number, updatedAt: now, conversation: ck), in: db.times)
        if newSubject, let subjectHash {
            try txn.put([], forKey: Schema.subjectKey(tenant: tenant.number, subject: subjectHash, conversation: ck), in: db.subjects)
        }
        if let idempotencyRecordKey {
            let record = IdempotencyRecord(conversation: ck, firstSeq: firstSeq, lastSeq: lastSeq,
                                           contentHash: Self.idempotencyContentHash(request, key: dek.key))
            try txn.put(record.encoded(), forKey: idempotencyRecordKey, in: db.idempotency)
        }
        return AppendResult(conversationID: request.conversationID, firstSeq: firstSeq, lastSeq: lastSeq)
    }

    /// A keyed hash of everything an append carries, to tell a retry from a different request.
    ///
    /// Keyed with the conversation's DEK (domain-separated from its use as the AEAD key): a
    /// hash keyed with a key that outlives the conversation would let whoever holds the current
    /// keys confirm a guess of a shredded conversation's content against an old copy.
    static func idempotencyContentHash(_ request: AppendRequest, key: borrowing SecretKey) -> [UInt8] {
        var content = RecordWriter(capacity: request.messages.reduce(64) { $0 + $1.count + 4 })
        content.blob(Array(request.conversationID.utf8))
        content.blob(Array((request.subjectID ?? "").utf8)); content.u8(request.subjectID == nil ? 0 : 1)
        content.blob(Array((request.format ?? "").utf8)); content.u8(request.format == nil ? 0 : 1)
        content.blob(request.metadata ?? []); content.u8(request.metadata == nil ? 0 : 1)
        content.u32(UInt32(request.messages.count))
        for message in request.messages { content.blob(message) }
        return KeyedHash.hash(content.bytes, key: key, domain: "idempotency-content")
    }

    /// The conversation's DEK, from the cache or unwrapped under the tenant's KEK.
    ///
    /// The cache key includes the whole sealed DEK, so a conversation shredded and created
    /// again never meets its predecessor's key, and a stored DEK that was altered is unwrapped
    /// (and found out) instead of being served from the cache.
    /// `mark` as for ``keys(for:since:caching:)``.
    func dataKey(tenant keys: TenantKeys, conversation ck: [UInt8], record: ConversationRecord,
                 since mark: CacheMark? = nil) throws -> KeyBox {
        let cacheKey = Array.bigEndian(keys.number) + ck + record.sealedDEK
        if let cached = dekCache.lookup(cacheKey) { return cached }
        guard let kek = keys.keks[record.kekVersion] else { throw VaultError.recordCorrupted("conversation key version") }
        let dek: SecretKey
        do {
            dek = try AEAD.openKey(record.sealedDEK, using: kek.key, authenticating: AssociatedData.dek(
                storeID: storeID, tenant: keys.number, conversation: ck, kekVersion: record.kekVersion))
        } catch {
            throw VaultError.recordCorrupted("conversation key")
        }
        let box = KeyBox(dek)
        dekCache.insert(box, for: cacheKey, unlessPurgedSince: mark?.deks)
        return box
    }

    func openMetadata(_ record: ConversationRecord, dek: KeyBox, tenant: UInt32, conversation ck: [UInt8]) throws -> ConversationMetadata {
        do {
            let clear = try AEAD.open(record.sealedMetadata, using: dek.key,
                                      authenticating: AssociatedData.metadata(tenant: tenant, conversation: ck))
            return try ConversationMetadata(decoding: clear)
        } catch {
            throw VaultError.recordCorrupted("conversation metadata")
        }
    }
}
