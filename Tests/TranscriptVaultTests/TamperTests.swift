import Testing
import TranscriptStorage
@testable import TranscriptVault

/// Edits made to the LMDB values behind the engine's back are detected on read: the read fails
/// with `recordCorrupted` and never returns other plaintext; untouched records still read.
@Suite("Tamper detection")
struct TamperTests {
    /// Conversations of the fixture: (tenant, conversation id).
    static let conversations = [("alpha", "c1"), ("alpha", "c2"), ("beta", "c1"), ("beta", "c3")]

    static func content(_ tenant: String, _ conversation: String, _ seq: Int) -> [UInt8] {
        sampleMessage("\(tenant)/\(conversation)", seq)
    }

    /// Builds the fixture (4 conversations of 5 messages), closes it, reopens it with a cold
    /// key cache (as an attacker's offline edit would be met), applies `tamper`, and hands the
    /// reopened vault to `check`. Finally the store is opened once more and `check` runs again.
    static func withTampered(
        _ tamper: (Vault, WriteTransaction) throws -> Void,
        check: (Vault) throws -> Void
    ) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, tenants: ["alpha", "beta"]) { vault in
                for (tenant, conversation) in conversations {
                    _ = try await vault.append(AppendRequest(
                        tenant: tenant, conversationID: conversation,
                        messages: (1...5).map { content(tenant, conversation, $0) }, subjectID: "subject-\(conversation)",
                        metadata: bytes(#"{"c":"\#(conversation)"}"#)))
                }
            }
            try await withVault(testConfiguration(dir)) { vault in
                try vault.environment.write { txn in try tamper(vault, txn) }
                try check(vault)
            }
            try await withVault(testConfiguration(dir)) { vault in try check(vault) }
        }
    }

    /// Expects the conversation to read exactly as stored.
    static func expectIntact(_ vault: Vault, _ tenant: String, _ conversation: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let messages = try readAll(vault, tenant: tenant, conversation: conversation)
            #expect(messages.map(\.message) == (1...5).map { content(tenant, conversation, $0) },
                    "\(tenant)/\(conversation) changed", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(tenant)/\(conversation) no longer reads: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Expects every conversation except `damaged` to read exactly as stored.
    static func expectOthersIntact(_ vault: Vault, except damaged: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation) {
        for (tenant, conversation) in conversations where !damaged.contains(where: { $0 == (tenant, conversation) }) {
            expectIntact(vault, tenant, conversation, sourceLocation: sourceLocation)
        }
    }

    static func value(_ txn: WriteTransaction, _ db: Database, _ key: [UInt8]) throws -> [UInt8] {
        try #require(try txn.value(in: db, forKey: key), "the record to tamper with is missing")
    }

    /// Offsets into a message value (`version ‖ created_at[8] ‖ nonce[24] ‖ ciphertext ‖ tag[16]`).
    enum MessageSpot: String, CaseIterable, CustomTestStringConvertible {
        case version, createdAt, nonce, ciphertext, tag
        var testDescription: String { rawValue }
        func offset(in count: Int) -> Int {
            switch self {
            case .version: 0
            case .createdAt: 8
            case .nonce: 9 + 5
            case .ciphertext: 9 + 24 + 3
            case .tag: count - 1
            }
        }
    }

    @Test("a flipped bit anywhere in a message value fails that message only", arguments: MessageSpot.allCases)
    func flippedMessageBit(spot: MessageSpot) async throws {
        try await Self.withTampered({ vault, txn in
            let key = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 3)
            var value = try Self.value(txn, vault.db.messages, key)
            value[spot.offset(in: value.count)] ^= 0x10
            try txn.put(value, forKey: key, in: vault.db.messages)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1") }
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 2, limit: 1) }
            // The messages around it still read.
            let before = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 0, limit: 2)
            #expect(before.messages.map(\.message) == (1...2).map { Self.content("alpha", "c1", $0) })
            let after = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 3)
            #expect(after.messages.map(\.message) == (4...5).map { Self.content("alpha", "c1", $0) })
            Self.expectOthersIntact(vault, except: [("alpha", "c1")])
        })
    }

    @Test("a truncated or extended message value fails", arguments: [0, 1, 9, 9 + 24 + 15, -1])
    func resizedMessage(length: Int) async throws {
        try await Self.withTampered({ vault, txn in
            let key = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 5)
            var value = try Self.value(txn, vault.db.messages, key)
            if length < 0 { value.append(0) } else { value = Array(value.prefix(length)) }
            try txn.put(value, forKey: key, in: vault.db.messages)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1") }
            Self.expectOthersIntact(vault, except: [("alpha", "c1")])
        })
    }

    @Test("two messages of a conversation swapped (a sequence swap) fail")
    func swappedMessages() async throws {
        try await Self.withTampered({ vault, txn in
            let two = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 2)
            let four = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 4)
            let a = try Self.value(txn, vault.db.messages, two)
            let b = try Self.value(txn, vault.db.messages, four)
            try txn.put(b, forKey: two, in: vault.db.messages)
            try txn.put(a, forKey: four, in: vault.db.messages)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 1, limit: 1) }
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 3, limit: 1) }
            #expect(try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 2, limit: 1).messages.map(\.message)
                    == [Self.content("alpha", "c1", 3)])
            Self.expectOthersIntact(vault, except: [("alpha", "c1")])
        })
    }

    @Test("a message moved to another sequence number (a replay at the end) fails")
    func replayedAtEnd() async throws {
        try await Self.withTampered({ vault, txn in
            let one = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 1)
            let value = try Self.value(txn, vault.db.messages, one)
            try txn.put(value, forKey: try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 6), in: vault.db.messages)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c1", afterSeq: 5) }
            #expect(try vault.read(tenant: "alpha", conversationID: "c1", limit: 5).messages.count == 5)
        })
    }

    @Test("a message copied into another conversation of the same tenant, or of another tenant, fails",
          arguments: [("alpha", "c2"), ("beta", "c1"), ("beta", "c3")])
    func copiedMessage(target: (String, String)) async throws {
        try await Self.withTampered({ vault, txn in
            let source = try vault.messageKey(tenant: "alpha", conversation: "c1", seq: 2)
            let value = try Self.value(txn, vault.db.messages, source)
            try txn.put(value, forKey: try vault.messageKey(tenant: target.0, conversation: target.1, seq: 2), in: vault.db.messages)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: target.0, conversationID: target.1) }
            Self.expectOthersIntact(vault, except: [target])
        })
    }

    /// The byte offset of the sealed DEK inside a conversation record
    /// (`version ‖ kek version[4] ‖ length[4] ‖ sealed DEK`).
    static let sealedDEKOffset = 1 + 4 + 4

    @Test("a flipped bit in a conversation's sealed DEK fails that conversation only",
          arguments: [0, 7, 8, 24, 40, 71])
    func flippedDEKBit(offset: Int) async throws {
        try await Self.withTampered({ vault, txn in
            let key = try vault.conversationRecordKey(tenant: "alpha", conversation: "c2")
            var value = try Self.value(txn, vault.db.conversations, key)
            let record = try value.withUnsafeBytes { try ConversationRecord(decoding: $0) }
            try #require(record.sealedDEK.count == 72 && offset < 72)
            value[Self.sealedDEKOffset + offset] ^= 0x01
            let tampered = try value.withUnsafeBytes { try ConversationRecord(decoding: $0) }
            try #require(tampered.sealedDEK != record.sealedDEK, "the offset missed the sealed DEK")
            try txn.put(value, forKey: key, in: vault.db.conversations)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c2") }
            Self.expectOthersIntact(vault, except: [("alpha", "c2")])
            #expect(try vault.list(tenant: "beta", query: ListQuery()).conversations.count == 2)
        })
    }

    @Test("a conversation's DEK tampered while its key is cached still fails once the record is reread")
    func flippedDEKWithWarmCache() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")]))
                _ = try vault.read(tenant: "acme", conversationID: "c")
                let key = try vault.conversationRecordKey(tenant: "acme", conversation: "c")
                try vault.environment.write { txn in
                    var value = try Self.value(txn, vault.db.conversations, key)
                    value[Self.sealedDEKOffset + 2] ^= 0x01  // inside the nonce, so in the cache key
                    try txn.put(value, forKey: key, in: vault.db.conversations)
                }
                expectCorrupted { _ = try vault.read(tenant: "acme", conversationID: "c") }
            }
        }
    }

    @Test("a flipped bit in a conversation's sealed metadata fails its listing, not its messages")
    func flippedMetadataBit() async throws {
        try await Self.withTampered({ vault, txn in
            let key = try vault.conversationRecordKey(tenant: "alpha", conversation: "c2")
            var value = try Self.value(txn, vault.db.conversations, key)
            value[value.count - 3] ^= 0x80  // inside the metadata's tag
            try txn.put(value, forKey: key, in: vault.db.conversations)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.list(tenant: "alpha", query: ListQuery()) }
            expectCorrupted { _ = try vault.list(tenant: "alpha", query: ListQuery(subjectID: "subject-c2")) }
            #expect(try vault.list(tenant: "alpha", query: ListQuery(subjectID: "subject-c1")).conversations.count == 1)
            Self.expectOthersIntact(vault, except: [])
        })
    }

    @Test("two conversations' records swapped fail both",
          arguments: [(("alpha", "c1"), ("alpha", "c2")), (("alpha", "c1"), ("beta", "c1")), (("alpha", "c2"), ("beta", "c3"))])
    func swappedConversationRecords(first: (String, String), second: (String, String)) async throws {
        try await Self.withTampered({ vault, txn in
            let a = try vault.conversationRecordKey(tenant: first.0, conversation: first.1)
            let b = try vault.conversationRecordKey(tenant: second.0, conversation: second.1)
            let valueA = try Self.value(txn, vault.db.conversations, a)
            let valueB = try Self.value(txn, vault.db.conversations, b)
            try txn.put(valueB, forKey: a, in: vault.db.conversations)
            try txn.put(valueA, forKey: b, in: vault.db.conversations)
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: first.0, conversationID: first.1) }
            expectCorrupted { _ = try vault.read(tenant: second.0, conversationID: second.1) }
            Self.expectOthersIntact(vault, except: [first, second])
        })
    }

    @Test("a conversation record copied over another (with its messages) fails")
    func copiedConversationWithMessages() async throws {
        try await Self.withTampered({ vault, txn in
            // Make alpha/c2 a byte copy of alpha/c1: record and every message.
            try txn.put(try Self.value(txn, vault.db.conversations, try vault.conversationRecordKey(tenant: "alpha", conversation: "c1")),
                        forKey: try vault.conversationRecordKey(tenant: "alpha", conversation: "c2"), in: vault.db.conversations)
            for seq in UInt64(1)...5 {
                let value = try Self.value(txn, vault.db.messages, try vault.messageKey(tenant: "alpha", conversation: "c1", seq: seq))
                try txn.put(value, forKey: try vault.messageKey(tenant: "alpha", conversation: "c2", seq: seq), in: vault.db.messages)
            }
        }, check: { (vault) throws in
            expectCorrupted { _ = try vault.read(tenant: "alpha", conversationID: "c2") }
            Self.expectOthersIntact(vault, except: [("alpha", "c2")])
        })
    }
}
