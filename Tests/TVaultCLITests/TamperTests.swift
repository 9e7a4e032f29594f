import Foundation
import Testing
import TranscriptStorage
@testable import TranscriptVault

/// Edits made to the LMDB behind the engine's back, found by the binary: `tvault audit
/// verify` for the audit log, `tvault verify` for the transcripts. Both exit 1 and say where.
@Suite("Tampering found by the binary")
struct TamperTests {
    /// A way to damage the audit log, with the record and problem `audit verify` must report.
    struct AuditTamper: Sendable, CustomTestStringConvertible {
        let name: String
        let firstBroken: Int
        let problems: Set<String>
        let apply: @Sendable (WriteTransaction, Database, _ records: Int) throws -> Void

        var testDescription: String { name }
    }

    static func key(_ seq: Int) -> [UInt8] { .bigEndian(UInt64(seq)) }

    static let auditTampers: [AuditTamper] = [
        AuditTamper(name: "a field byte edited", firstBroken: 2, problems: ["edited"]) { txn, audit, _ in
            var value = try #require(try txn.value(in: audit, forKey: key(2)))
            // The last byte of the record's body (the last field's value), before the two MACs.
            value[value.count - 65] ^= 0x01
            try txn.put(value, forKey: key(2), in: audit)
        },
        AuditTamper(name: "a middle record removed", firstBroken: 2, problems: ["removed or reordered", "removed"]) { txn, audit, _ in
            let deleted = try txn.delete(forKey: key(2), in: audit)
            #expect(deleted)
        },
        AuditTamper(name: "two records swapped", firstBroken: 2, problems: ["removed or reordered", "reordered", "edited"]) { txn, audit, _ in
            let second = try #require(try txn.value(in: audit, forKey: key(2)))
            let third = try #require(try txn.value(in: audit, forKey: key(3)))
            try txn.put(third, forKey: key(2), in: audit)
            try txn.put(second, forKey: key(3), in: audit)
        },
        AuditTamper(name: "the last record removed", firstBroken: 5, problems: ["truncated"]) { txn, audit, records in
            #expect(records == 5)
            let deleted = try txn.delete(forKey: key(records), in: audit)
            #expect(deleted)
        },
    ]

    @Test("tampering with the audit log is found at the right record", arguments: auditTampers)
    func auditTamper(_ tamper: AuditTamper) async throws {
        try await withStore { directory in
            // Five records: tenant.create ×2, token.issue ×2, token.revoke.
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            try tvaultOK(["tenant", "create", "beta", "--data-dir", directory])
            try tvaultOK(["token", "issue", "--tenant", "acme", "--data-dir", directory])
            let id = try #require(try tvaultOK(["token", "issue", "--tenant", "beta", "--data-dir", directory, "--format", "json"]).json()["id"] as? String)
            try tvaultOK(["token", "revoke", id, "--data-dir", directory])
            let intact = try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()
            try #require(intact["intact"] as? Bool == true && int(intact, "records") == 5, "\(intact)")

            try await withVault(directory) { vault in
                try vault.environment.write { txn in try tamper.apply(txn, vault.db.audit, 5) }
            }

            let run = try tvault(["audit", "verify", "--data-dir", directory, "--format", "json"])
            expectStatus(run, 1)
            let json = try run.json()
            #expect(json["intact"] as? Bool == false)
            #expect(int(json, "first_broken") == tamper.firstBroken, "\(json)")
            let problem = json["problem"] as? String ?? ""
            #expect(tamper.problems.contains(problem), "unexpected problem \(problem)")

            let text = try tvault(["audit", "verify", "--data-dir", directory])
            expectStatus(text, 1)
            #expect(text.stdout.contains("broken at record \(tamper.firstBroken): \(problem)"), "\(text)")
        }
    }

    @Test("a flipped bit in one message fails verify, which names it")
    func messageBitFlip() async throws {
        try await CommandTests.withFilledStore { directory in
            let (conversation, messageKey) = try await withVault(directory) { vault in
                (try vault.conversationHex(tenant: "acme", conversation: "c2"),
                 try vault.messageKey(tenant: "acme", conversation: "c2", seq: 2))
            }
            try await withVault(directory) { vault in
                try vault.environment.write { txn in
                    var value = try #require(try txn.value(in: vault.db.messages, forKey: messageKey))
                    value[value.count / 2] ^= 0x10
                    try txn.put(value, forKey: messageKey, in: vault.db.messages)
                }
            }
            let run = try tvault(["verify", "--data-dir", directory, "--format", "json"])
            expectStatus(run, 1)
            let json = try run.json()
            #expect(int(json, "records") == 16)
            #expect(int(json, "failures") == 1)
            let details = try #require(json["details"] as? [[String: Any]])
            try #require(details.count == 1)
            #expect(details[0]["tenant"] as? String == "acme")
            #expect(details[0]["kind"] as? String == "message")
            #expect(details[0]["conversation"] as? String == conversation)
            #expect(int(details[0], "seq") == 2)
            #expect(details[0]["check"] as? String == "authentication")
            #expect(details[0]["position"] as? String == "conversation \(conversation)/seq 2")
            #expect(!run.stdout.contains("message 2 of c2"), "verify printed content")

            let text = try tvault(["verify", "--data-dir", directory])
            expectStatus(text, 1)
            #expect(text.stdout.contains("FAILED  acme\tmessage\tconversation \(conversation)/seq 2\tauthentication"))
            #expect(text.stdout.contains("1 failure(s)."))
        }
    }

    @Test("a damaged DEK fails the conversation's DEK, metadata and messages")
    func dekDamage() async throws {
        try await CommandTests.withFilledStore { directory in
            try await withVault(directory) { vault in
                let record = try #require(try vault.environment.read { try vault.tenantRecord("acme", in: $0) })
                let ck = try vault.keys(for: record).hash("c1", domain: "conversation")
                let key = Schema.conversationKey(tenant: record.number, conversation: ck)
                try vault.environment.write { txn in
                    let bytes = try #require(try txn.value(in: vault.db.conversations, forKey: key))
                    var conversation = try bytes.withUnsafeBytes { try ConversationRecord(decoding: $0) }
                    conversation.sealedDEK[conversation.sealedDEK.count - 1] ^= 0x01
                    try txn.put(conversation.encoded(), forKey: key, in: vault.db.conversations)
                }
            }
            let run = try tvault(["verify", "--data-dir", directory, "--format", "json"])
            expectStatus(run, 1)
            let json = try run.json()
            let details = try #require(json["details"] as? [[String: Any]])
            #expect(details.map { $0["kind"] as? String } == ["dek", "metadata", "message", "message", "message"])
            #expect(details.map { $0["check"] as? String } == ["authentication", "key_unavailable", "key_unavailable", "key_unavailable", "key_unavailable"])
            #expect(int(json, "failures") == 5)
        }
    }

    @Test("records a tenant shred has left to purge are skipped, not failures")
    func shreddedLeftovers() async throws {
        try await CommandTests.withFilledStore { directory in
            // As a crash between the key deletion and the purge leaves it.
            try await withVault(directory) { vault in
                try vault.environment.write { txn in
                    let bytes = try #require(try txn.value(in: vault.db.tenants, forKey: Array("acme".utf8)))
                    var record = try bytes.withUnsafeBytes { try TenantRecord(decoding: $0) }
                    record.state = .shredded
                    record.keks = []
                    record.sealedIndexKey = []
                    try txn.put(record.encoded(), forKey: Array("acme".utf8), in: vault.db.tenants)
                }
            }
            let json = try tvaultOK(["verify", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(json, "failures") == 0)
            #expect(int(json, "skipped") == 8)
            #expect(int(json, "tenants") == 2)
            #expect(int(json, "counts.kek") == 1)
            #expect(int(json, "counts.message") == 0)
        }
    }

    @Test("verify passes after a real tenant shred")
    func afterTenantShred() async throws {
        try await CommandTests.withFilledStore { directory in
            try tvaultOK(["tenant", "shred", "acme", "--now", "--yes", "--data-dir", directory])
            let json = try tvaultOK(["verify", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(json, "failures") == 0, "\(json)")
            #expect(int(json, "counts.message") == 0)
            #expect(int(json, "counts.kek") == 1)
            #expect(try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()["intact"] as? Bool == true)
        }
    }
}
