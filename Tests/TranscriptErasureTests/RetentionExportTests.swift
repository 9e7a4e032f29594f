import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// Retention, subject export and whole-tenant shred scheduling (issue 5, items 2–4).
@Suite("Retention, export and tenant shred scheduling")
struct RetentionExportTests {
    static let day: Int64 = 86_400_000

    @Test("expired conversations are shredded like a delete; a longer override keeps one")
    func retention() async throws {
        try await withScratchDirectory { scratch in
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                for tenant in ["acme", "other"] { _ = try await vault.createTenant(tenant) }
                let expiring = (0..<3).map { Fixture.canary(tenant: "acme", label: "expiring\($0)", subject: $0 == 0 ? "s-\(token())" : nil) }
                let kept = Fixture.canary(tenant: "acme", label: "kept")
                let otherTenant = Fixture.canary(tenant: "other", label: "no-retention")
                for fixture in expiring + [kept, otherTenant] { try await vault.store(fixture) }

                try await vault.setRetention(tenant: "acme", days: 1)
                try await vault.setRetention(tenant: "acme", conversationID: kept.id, days: 30)
                #expect(try vault.tenant(named: "acme").retentionDays == 1)

                let now = Clock.nowMilliseconds()
                // Not due yet: nothing happens.
                #expect(try await vault.sweepRetention(now: now + Self.day / 2).isEmpty)
                for fixture in expiring + [kept, otherTenant] { vault.expectIntact(fixture) }

                let receipts = try await vault.sweepRetention(now: now + 2 * Self.day)
                let receipt = try #require(receipts.first)
                #expect(receipts.count == 1)
                #expect(receipt.target == .retention && receipt.tenant == "acme" && receipt.conversations == 3)
                #expect(receipt.status == .pending)
                for fixture in expiring { vault.expectGone(fixture) }
                vault.expectIntact(kept)
                vault.expectIntact(otherTenant)
                #expect(try vault.pendingErasureSince() != nil)

                let epoch = try await vault.runErasureEpoch()
                #expect(epoch.tenants == ["acme"])
                #expect(try vault.receipt(id: receipt.id).status == .erased)
                #expect(try vault.receipt(id: receipt.id, tenant: "acme").target == .retention)
                #expect(throws: VaultError.notFound) { try vault.receipt(id: receipt.id, tenant: "other") }

                // The override runs out too, eventually.
                let later = try await vault.sweepRetention(now: now + 31 * Self.day)
                #expect(later.count == 1 && later.first?.conversations == 1)
                vault.expectGone(kept)
                vault.expectIntact(otherTenant)
            }
        }
    }

    @Test("a subject export returns every conversation of the subject, byte-exact, and nothing else")
    func export() async throws {
        try await withScratchDirectory { scratch in
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                for tenant in ["acme", "other"] { _ = try await vault.createTenant(tenant) }
                let subject = "subject-\(token())"
                var mine = (0..<3).map { Fixture.canary(tenant: "acme", label: "export\($0)", subject: subject, messages: 2 + $0) }
                // Bytes a JSON round trip would change: escapes, key order, spacing, numbers.
                mine.append(Fixture(
                    tenant: "acme", id: "conv-exact-\(token())", subject: subject,
                    messages: [utf8(#"{ "b":1.50, "a":"\u00e9\n" ,"z":[ ] }"#), utf8("{\"emoji\":\"\u{1F600}\"}"),
                               (0..<150).map { _ in UInt8(ascii: "x") }],
                    metadata: utf8(#"{"k" : 1e2}"#)))
                let notMine = [Fixture.canary(tenant: "acme", label: "other-subject", subject: "subject-\(token())"),
                               Fixture.canary(tenant: "acme", label: "no-subject"),
                               Fixture.canary(tenant: "other", label: "same-id-elsewhere", subject: subject)]
                for fixture in mine + notMine { try await vault.store(fixture) }

                let exported = try await vault.exportSubject(tenant: "acme", subjectID: subject)
                #expect(exported.count == mine.count)
                let byID = Dictionary(uniqueKeysWithValues: exported.map { ($0.conversation.conversationID, $0) })
                for fixture in mine {
                    let conversation = try #require(byID[fixture.id], "\(fixture.id) missing from the export")
                    #expect(conversation.messages.map(\.message) == fixture.messages)
                    #expect(conversation.messages.map(\.seq) == (1...UInt64(fixture.messages.count)).map { $0 })
                    #expect(conversation.conversation.subjectID == subject)
                    #expect(conversation.conversation.metadata == fixture.metadata)
                    #expect(conversation.conversation.messageCount == UInt64(fixture.messages.count))
                }
                #expect(try await vault.exportSubject(tenant: "acme", subjectID: "nobody-\(token())").isEmpty)

                // After the subject is erased, the export is empty.
                _ = try await vault.eraseSubject(tenant: "acme", subjectID: subject)
                #expect(try await vault.exportSubject(tenant: "acme", subjectID: subject).isEmpty)
                for fixture in notMine { vault.expectIntact(fixture) }
            }
        }
    }

    @Test("a scheduled tenant answers tenantShredded, cancel restores it intact, delay 0 shreds it")
    func tenantShredScheduling() async throws {
        try await withScratchDirectory { scratch in
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                for tenant in ["acme", "bystander"] { _ = try await vault.createTenant(tenant) }
                let fixtures = (0..<3).map { Fixture.canary(tenant: "acme", label: "sched\($0)", subject: "s-\(token())") }
                let bystander = Fixture.canary(tenant: "bystander", label: "bystander")
                for fixture in fixtures + [bystander] { try await vault.store(fixture) }

                // Scheduled with the default waiting period: unusable at once, nothing deleted.
                // A waiting period that would overflow the clock is refused, not a crash.
                await #expect(throws: VaultError.self) { try await vault.scheduleTenantShred("acme", delayMilliseconds: .max) }
                await #expect(throws: VaultError.self) { try await vault.scheduleTenantShred("acme", delayMilliseconds: -1) }
                let (shredAt, none) = try await vault.scheduleTenantShred("acme")
                #expect(none == nil)
                #expect(shredAt >= Clock.nowMilliseconds() + Vault.defaultTenantShredDelay - 60_000)
                #expect(try vault.tenant(named: "acme").state == .shredScheduled)
                #expect(throws: VaultError.tenantShredded) { try vault.read(tenant: "acme", conversationID: fixtures[0].id) }
                await #expect(throws: VaultError.tenantShredded) {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "new", messages: [utf8("x")]))
                }
                await #expect(throws: VaultError.tenantShredded) { _ = try await vault.exportSubject(tenant: "acme", subjectID: "s") }
                await #expect(throws: VaultError.tenantShredded) { try await vault.scheduleTenantShred("acme") }
                await #expect(throws: VaultError.tenantShredded) { _ = try await vault.issueToken(tenants: ["acme"], scopes: [.read]) }
                // Not due: the sweeper leaves it alone.
                #expect(try await vault.shredDueTenants().isEmpty)
                // A KEK rotation (an erasure epoch) may still run on it without losing anything.
                _ = try await vault.rotateTenantKEK("acme", batchSize: 1)

                try await vault.cancelTenantShred("acme")
                #expect(try vault.tenant(named: "acme").state == .active)
                for fixture in fixtures { vault.expectIntact(fixture) }
                await #expect(throws: VaultError.invalidArgument(field: "tenant", reason: "no shred is scheduled")) {
                    try await vault.cancelTenantShred("acme")
                }

                // A short delay: the sweeper shreds it once due.
                _ = try await vault.scheduleTenantShred("acme", delayMilliseconds: 30)
                try await Task.sleep(for: .milliseconds(60))
                let due = try await vault.shredDueTenants()
                let receipt = try #require(due.first)
                #expect(due.count == 1 && receipt.target == .tenant && receipt.status == .pending)
                #expect(try vault.tenant(named: "acme").state == .shredded)
                await #expect(throws: VaultError.tenantShredded) { try await vault.cancelTenantShred("acme") }
                let number = try vault.tenantRecordNow("acme").number
                #expect(try vault.tenantRecordNow("acme").keks.isEmpty)
                for database in [Schema.conversations, Schema.messages, Schema.subjects, Schema.times] {
                    #expect(try vault.entries(of: number, in: database) == 0)
                }
                _ = try await vault.runErasureEpoch()
                #expect(try vault.receipt(id: receipt.id).status == .erased)
                vault.expectIntact(bystander)
                // The name stays taken.
                await #expect(throws: VaultError.alreadyExists("tenant acme")) { _ = try await vault.createTenant("acme") }
            }
        }
    }

    @Test("tenant shred with delay 0 (--now): data gone at once, receipt erased after the epoch")
    func tenantShredNow() async throws {
        try await withScratchDirectory { scratch in
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                for tenant in ["gone", "stays"] { _ = try await vault.createTenant(tenant) }
                let fixtures = (0..<3).map { Fixture.canary(tenant: "gone", label: "now\($0)") }
                let stays = Fixture.canary(tenant: "stays", label: "stays")
                for fixture in fixtures + [stays] { try await vault.store(fixture) }
                let number = try vault.tenantRecordNow("gone").number

                let (_, receipt) = try await vault.scheduleTenantShred("gone", delayMilliseconds: 0)
                let shred = try #require(receipt)
                #expect(shred.status == .pending && shred.target == .tenant && shred.tenant == "gone")
                #expect(try vault.receipt(id: shred.id).status == .pending)
                #expect(try vault.tenant(named: "gone").state == .shredded)
                for fixture in fixtures {
                    #expect(throws: VaultError.tenantShredded) { try vault.read(tenant: "gone", conversationID: fixture.id) }
                }
                for database in [Schema.conversations, Schema.messages] {
                    #expect(try vault.entries(of: number, in: database) == 0)
                }
                let epoch = try await vault.runErasureEpoch()
                #expect(epoch.epoch == 2)
                #expect(try vault.receipt(id: shred.id).status == .erased)
                vault.expectIntact(stays)
            }
        }
    }
}
