import Testing
import TranscriptStorage
@testable import TranscriptVault

/// A retried append with the same idempotency key is answered, not stored again.
@Suite("Idempotent retry")
struct IdempotencyTests {
    static func request(
        conversation: String = "c", messages: [[UInt8]] = [sampleMessage("idem", 1), sampleMessage("idem", 2)],
        subject: String? = "s", format: String? = "f", metadata: [UInt8]? = bytes(#"{"m":1}"#), key: String? = "key-1"
    ) -> AppendRequest {
        AppendRequest(tenant: "acme", conversationID: conversation, messages: messages, subjectID: subject,
                      format: format, metadata: metadata, idempotencyKey: key)
    }

    static func messageCount(_ vault: Vault, _ conversation: String = "c") throws -> Int {
        try readAll(vault, tenant: "acme", conversation: conversation).count
    }

    @Test("the same key and content returns the first result and stores nothing more")
    func sameContent() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(Self.request(messages: [sampleMessage("before", 1)], key: nil))
                let first = try await vault.append(Self.request())
                #expect(first.firstSeq == 2 && first.lastSeq == 3)
                // Later appends do not change what the retry answers.
                _ = try await vault.append(Self.request(messages: [sampleMessage("after", 1)], key: "key-2"))
                let retry = try await vault.append(Self.request())
                #expect(retry == first)
                #expect(try Self.messageCount(vault) == 4)
                let summary = try #require(try vault.list(tenant: "acme", query: ListQuery()).conversations.first)
                #expect(summary.messageCount == 4)
            }
        }
    }

    /// The idempotency record of `key` on conversation `c` of `acme`, with its record key.
    static func storedRecord(_ vault: Vault, key: String = "key-1") throws -> (key: [UInt8], record: IdempotencyRecord, keys: TenantKeys, dek: KeyBox) {
        try vault.environment.read { txn in
            let tenant = try #require(try vault.tenantRecord("acme", in: txn))
            let keys = try vault.keys(for: tenant)
            let ck = keys.hash("c", domain: "conversation")
            let recordKey = Schema.idempotencyKey(tenant: tenant.number, conversation: ck, key: keys.hash(key, domain: "idempotency"))
            let record = try #require(try txn.withValue(in: vault.db.idempotency, forKey: recordKey) { try IdempotencyRecord(decoding: $0) })
            let conversation = try #require(try txn.withValue(in: vault.db.conversations,
                                                              forKey: Schema.conversationKey(tenant: tenant.number, conversation: ck)) {
                try ConversationRecord(decoding: $0)
            })
            return (recordKey, record, keys, try vault.dataKey(tenant: keys, conversation: ck, record: conversation))
        }
    }

    @Test("the content hash is keyed with the conversation's DEK, not with a key that outlives a shred")
    func contentHashKeyedWithDEK() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(Self.request())
                let (_, record, keys, dek) = try Self.storedRecord(vault)
                #expect(record.format == 2)
                #expect(record.contentHash == Vault.idempotencyContentHash(Self.request(), key: dek.key))
                #expect(record.contentHash != Vault.idempotencyContentHash(Self.request(), key: keys.indexKey.key))
            }
        }
    }

    @Test("a record of format 1 (content hash under the index key, from earlier versions) still answers its retry")
    func formatOneRecord() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let first = try await vault.append(Self.request())
                let (recordKey, record, keys, _) = try Self.storedRecord(vault)
                let old = IdempotencyRecord(conversation: record.conversation, firstSeq: record.firstSeq, lastSeq: record.lastSeq,
                                            contentHash: Vault.idempotencyContentHash(Self.request(), key: keys.indexKey.key), format: 1)
                try vault.environment.write { txn in try txn.put(old.encoded(), forKey: recordKey, in: vault.db.idempotency) }
                #expect(try Self.storedRecord(vault).record.format == 1)
                #expect(try await vault.append(Self.request()) == first)
                await #expect(throws: VaultError.conflict) {
                    _ = try await vault.append(Self.request(messages: [sampleMessage("other", 1)]))
                }
                #expect(try Self.messageCount(vault) == 2)
            }
        }
    }

    @Test("the retry is answered the same after close and reopen")
    func sameContentAfterReopen() async throws {
        try await withTemporaryDirectory { dir in
            let first = try await withNewVault(dir) { vault in try await vault.append(Self.request()) }
            try await withVault(testConfiguration(dir)) { (vault) async throws in
                #expect(try await vault.append(Self.request()) == first)
                #expect(try Self.messageCount(vault) == 2)
            }
        }
    }

    @Test("the same key with different content is a conflict and stores nothing", arguments: [
        "messages", "message order", "one message fewer", "subject", "no subject", "format", "metadata", "no metadata",
    ])
    func differentContent(change: String) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(Self.request())
                let changed: AppendRequest = switch change {
                case "messages": Self.request(messages: [sampleMessage("idem", 1), sampleMessage("idem", 3)])
                case "message order": Self.request(messages: [sampleMessage("idem", 2), sampleMessage("idem", 1)])
                case "one message fewer": Self.request(messages: [sampleMessage("idem", 1)])
                case "subject": Self.request(subject: "t")
                case "no subject": Self.request(subject: nil)
                case "format": Self.request(format: "g")
                case "metadata": Self.request(metadata: bytes(#"{"m": 1}"#))
                default: Self.request(metadata: nil)
                }
                await #expect(throws: VaultError.conflict) { try await vault.append(changed) }
                #expect(try Self.messageCount(vault) == 2)
            }
        }
    }

    @Test("keys are scoped to their conversation: the same key on another conversation is another key")
    func scopedToConversation() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let first = try await vault.append(Self.request())
                let other = try await vault.append(Self.request(conversation: "other", messages: [sampleMessage("other", 1)]))
                #expect(other.firstSeq == 1 && other.lastSeq == 1)
                #expect(try Self.messageCount(vault, "other") == 1)
                // Each conversation still answers its own retry.
                #expect(try await vault.append(Self.request()) == first)
                let retry = try await vault.append(Self.request(conversation: "other", messages: [sampleMessage("other", 1)]))
                #expect(retry == other)
                #expect(try Self.messageCount(vault) == 2)
                #expect(try Self.messageCount(vault, "other") == 1)
            }
        }
    }

    @Test("ten identical retries at once store one copy and all get the same answer")
    func concurrentRetries() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                    for _ in 0..<10 { group.addTask { try await vault.append(Self.request()) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.count == 10)
                #expect(Set(results.map(\.firstSeq)) == [1])
                #expect(Set(results.map(\.lastSeq)) == [2])
                #expect(try Self.messageCount(vault) == 2)
            }
        }
    }

    @Test("concurrent retries of a new conversation mixed with other keys store each once")
    func concurrentMixedKeys() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let results = try await withThrowingTaskGroup(of: (Int, AppendResult).self) { group in
                    for attempt in 0..<30 {
                        let key = attempt % 3
                        group.addTask {
                            (key, try await vault.append(Self.request(
                                conversation: "fresh", messages: [sampleMessage("k\(key)", key)], key: "key-\(key)")))
                        }
                    }
                    return try await group.reduce(into: [Int: Set<UInt64>]()) { $0[$1.0, default: []].insert($1.1.firstSeq) }
                }
                #expect(results.values.allSatisfy { $0.count == 1 }, "a key got two answers: \(results)")
                #expect(Set(results.values.compactMap(\.first)) == [1, 2, 3])
                let stored = try readAll(vault, tenant: "acme", conversation: "fresh")
                #expect(stored.count == 3)
                for (key, seqs) in results {
                    #expect(stored.first { $0.seq == seqs.first }?.message == sampleMessage("k\(key)", key))
                }
            }
        }
    }
}
