import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// What the integrity commands report about a store changed behind the engine's back, and what
/// a backup says of itself: `audit verify` names the first broken record, `verify` reports a
/// tampered tenant record instead of skipping or refusing, and `backup` reports the root epoch
/// its copy holds.
@Suite("Integrity reports and backups")
struct IntegrityReportTests {
    static func key(_ seq: Int) -> [UInt8] { .bigEndian(UInt64(seq)) }

    /// Stores the tenant record of `name` as `change` makes it, behind the engine's back.
    static func rewriteTenant(_ vault: Vault, _ name: String, _ change: (inout TenantRecord) -> Void) throws {
        try vault.environment.write { txn in
            var record = try #require(try vault.tenantRecord(name, in: txn))
            change(&record)
            try txn.put(record.encoded(), forKey: bytes(name), in: vault.db.tenants)
        }
    }

    @Test("audit verify names a removed record as the first broken one, even when the record after it was also changed")
    func auditGapComesFirst() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory, tenants: ["a", "b", "c", "d", "e"]) { vault in
                #expect(try vault.verifyAudit().isIntact)
                try vault.environment.write { txn in
                    _ = try txn.delete(forKey: Self.key(3), in: vault.db.audit)
                    var value = try #require(try txn.value(in: vault.db.audit, forKey: Self.key(4)))
                    value[value.count - 65] ^= 0x01
                    try txn.put(value, forKey: Self.key(4), in: vault.db.audit)
                }
                #expect(try vault.verifyAudit().firstBroken == 3)
            }
        }
    }

    @Test("audit verify names a removed record as the first broken one when the records after it were swapped")
    func auditGapBeforeSwap() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory, tenants: ["a", "b", "c", "d", "e"]) { vault in
                try vault.environment.write { txn in
                    _ = try txn.delete(forKey: Self.key(2), in: vault.db.audit)
                    let four = try #require(try txn.value(in: vault.db.audit, forKey: Self.key(4)))
                    let three = try #require(try txn.value(in: vault.db.audit, forKey: Self.key(3)))
                    try txn.put(four, forKey: Self.key(3), in: vault.db.audit)
                    try txn.put(three, forKey: Self.key(4), in: vault.db.audit)
                }
                #expect(try vault.verifyAudit().firstBroken == 2)
            }
        }
    }

    @Test("verify reports a tenant record moved back to a destroyed root epoch, instead of asking to run again")
    func tenantEpochLowered() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory, tenants: ["acme"]) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c1", messages: [bytes("{}")]))
                let epoch = try await vault.rotateRoot()
                try Self.rewriteTenant(vault, "acme") { $0.epoch = epoch - 1 }
                let report = try vault.verify()
                #expect(report.failures.contains { $0.check == "missing_epoch" }, "\(report.failures)")
            }
        }
    }

    @Test("verify reports a tenant marked shredded that still holds its keys, instead of skipping its damaged records quietly")
    func tenantMarkedShredded() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory, tenants: ["acme"]) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c1", messages: [bytes(#"{"a":1}"#)]))
                let record = try #require(try vault.environment.read { try vault.tenantRecord("acme", in: $0) })
                let ck = try vault.keys(for: record).hash("c1", domain: "conversation")
                let messageKey = Schema.messageKey(tenant: record.number, conversation: ck, seq: 1)
                try vault.environment.write { txn in
                    var value = try #require(try txn.value(in: vault.db.messages, forKey: messageKey))
                    value[value.count - 3] ^= 0x10
                    try txn.put(value, forKey: messageKey, in: vault.db.messages)
                }
                #expect(try vault.verify().failureCount == 1)
                try Self.rewriteTenant(vault, "acme") { $0.state = .shredded }
                let report = try vault.verify()
                #expect(report.failures.contains { $0.check == "shredded_with_keys" }, "\(report.failures)")
            }
        }
    }

    @Test("a backup taken while a root rotation waits to commit reports the epoch its copy holds")
    func backupEpochMatchesCopy() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory, tenants: ["acme"]) { vault in
                // The rotation's commit waits behind the gate while the backup starts.
                let gate = try await WriterGate(vault.writer)
                let rotation = Task { try await vault.rotateRoot() }
                try await Task.sleep(for: .milliseconds(300))
                let destination = directory + "/backup"
                let backup = Task { try await vault.backup(to: destination) }
                try await Task.sleep(for: .milliseconds(300))
                gate.open()
                _ = try await rotation.value
                let result = try await backup.value
                var options = Environment.Options()
                options.durable = false
                let copy = try Environment(path: destination + "/store", databases: Schema.all, options: options)
                let held = try #require(try copy.read { try $0.value(in: copy[Schema.meta], forKey: Schema.MetaKey.rootEpoch) })
                #expect(result.epoch == held.bigEndianInteger(as: UInt64.self))
            }
        }
    }
}
