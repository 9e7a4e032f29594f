import Foundation
import Logging
import ServiceLifecycle
import Testing
import TranscriptServer
import TranscriptTestSupport
import TranscriptVault

/// `ErasureScheduler` run as a service in a `ServiceGroup`, as `tvault serve` runs it, over a
/// fresh store opened in this process.
@Suite("Erasure scheduler")
struct ErasureSchedulerTests {
    /// A store with tenant acme holding conversations c1 and c2, and a scheduler running on it;
    /// the scheduler is shut down gracefully, the vault closed and the directory removed after.
    static func withScheduler<R>(
        delayMilliseconds: Int64, sweepIntervalMilliseconds: Int64 = 100,
        clock: @escaping @Sendable () -> Int64 = { Clock.nowMilliseconds() },
        _ body: (Vault) async throws -> R
    ) async throws -> R {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let vault = try Vault.initialize(TestServer.vaultConfiguration(directory))
        defer { vault.close() }
        _ = try await vault.createTenant("acme")
        for conversation in ["c1", "c2"] {
            _ = try await vault.append(AppendRequest(
                tenant: "acme", conversationID: conversation, messages: [sampleMessage(conversation, 1), sampleMessage(conversation, 2)]))
        }
        return try await runScheduler(
            on: vault, delayMilliseconds: delayMilliseconds, sweepIntervalMilliseconds: sweepIntervalMilliseconds, clock: clock, body)
    }

    /// Runs a scheduler on `vault` while `body` runs, and shuts it down gracefully after.
    static func runScheduler<R>(
        on vault: Vault, delayMilliseconds: Int64, sweepIntervalMilliseconds: Int64 = 100,
        clock: @escaping @Sendable () -> Int64 = { Clock.nowMilliseconds() },
        _ body: (Vault) async throws -> R
    ) async throws -> R {
        let scheduler = ErasureScheduler(
            vault: vault, delayMilliseconds: delayMilliseconds, sweepIntervalMilliseconds: sweepIntervalMilliseconds,
            logger: quietLogger, clock: clock)
        let group = ServiceGroup(services: [scheduler], logger: quietLogger)
        let task = Task { try await group.run() }
        let result: R
        do {
            result = try await body(vault)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw error
        }
        await group.triggerGracefulShutdown()
        // A hang detector: generous, because the whole suite shares as few as two cores.
        try await within(60, "the scheduler to stop after a graceful shutdown") { try await task.value }
        return result
    }

    @Test("a shred's receipt becomes erased without anyone asking, and the root epoch advances")
    func shredIsErased() async throws {
        try await Self.withScheduler(delayMilliseconds: 0) { vault in
            let epochBefore = try vault.status().epoch
            let receipt = try await vault.shredConversation(tenant: "acme", conversationID: "c1")
            #expect(receipt.target == .conversation)
            let erased = try await eventually { try vault.receipt(id: receipt.id).status == .erased }
            #expect(erased, "the receipt stayed \(String(describing: try? vault.receipt(id: receipt.id).status))")
            #expect(try vault.status().epoch > epochBefore)
            #expect(try vault.pendingErasureSince() == nil)
            // The other conversation is untouched by the epoch.
            #expect(try vault.read(tenant: "acme", conversationID: "c2").messages.count == 2)
        }
    }

    @Test("with a long delay, a shred's receipt stays pending")
    func longDelayStaysPending() async throws {
        try await Self.withScheduler(delayMilliseconds: 60_000) { vault in
            let epochBefore = try vault.status().epoch
            let receipt = try await vault.shredConversation(tenant: "acme", conversationID: "c1")
            #expect(receipt.status == .pending)
            try await Task.sleep(for: .seconds(1))
            #expect(try vault.receipt(id: receipt.id).status == .pending)
            #expect(try vault.status().epoch == epochBefore)
            #expect(try vault.pendingErasureSince() != nil)
        }
    }

    @Test("a tenant whose waiting period is over is shredded by the sweep")
    func scheduledTenantIsShredded() async throws {
        try await Self.withScheduler(delayMilliseconds: 0) { vault in
            _ = try await vault.createTenant("beta")
            let (shredAt, receipt) = try await vault.scheduleTenantShred("beta", delayMilliseconds: 200)
            #expect(receipt == nil)
            #expect(shredAt > 0)
            #expect(try vault.tenant(named: "beta").state == .shredScheduled)
            let shredded = try await eventually { try vault.tenant(named: "beta").state == .shredded }
            #expect(shredded, "tenant beta is still \(String(describing: try? vault.tenant(named: "beta").state))")
            #expect(try vault.tenant(named: "acme").state == .active)
        }
    }

    @Test("the scheduler sweeps retention by itself: an expired conversation goes, with a retention receipt that becomes erased")
    func retentionSweptByScheduler() async throws {
        // The scheduler's clock two days ahead ages everything stored now by two days.
        let twoDays: Int64 = 2 * 86_400_000
        try await Self.withScheduler(delayMilliseconds: 0, clock: { Clock.nowMilliseconds() + twoDays }) { vault in
            // acme keeps conversations one day; c2 overrides that with 30 days. The sweep is
            // already running: it sees the retention once it is set.
            try await vault.setRetention(tenant: "acme", conversationID: "c2", days: 30)
            try await vault.setRetention(tenant: "acme", days: 1)
            let gone = try await eventually {
                do { _ = try vault.read(tenant: "acme", conversationID: "c1"); return false } catch VaultError.notFound { return true }
            }
            #expect(gone, "c1 outlived its retention")
            #expect(try vault.read(tenant: "acme", conversationID: "c2").messages.count == 2, "c2's longer override was not honoured")
            let sweep = try #require(try vault.auditRecords().last { $0.action == "shred.retention" }, "no shred.retention in the audit log")
            #expect(sweep["conversations"] == "1")
            let receiptID = try #require(sweep["receipt"])
            #expect(try vault.receipt(id: receiptID).target == .retention)
            let erased = try await eventually { try vault.receipt(id: receiptID).status == .erased }
            #expect(erased, "the retention receipt stayed \(String(describing: try? vault.receipt(id: receiptID).status))")
        }
    }

    @Test("a tenant whose shred fell due while the store was closed is shredded when the scheduler starts")
    func dueWhileClosedIsShredded() async throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = TestServer.vaultConfiguration(directory)
        do {
            let vault = try Vault.initialize(configuration)
            defer { vault.close() }
            for tenant in ["acme", "beta"] {
                _ = try await vault.createTenant(tenant)
                _ = try await vault.append(AppendRequest(tenant: tenant, conversationID: "c1", messages: [sampleMessage(tenant, 1)]))
            }
            _ = try await vault.scheduleTenantShred("beta", delayMilliseconds: 200)
            #expect(try vault.tenant(named: "beta").state == .shredScheduled)
        }
        // Closed past the waiting period, then opened again with a scheduler, as a restart does.
        try await Task.sleep(for: .milliseconds(400))
        let vault = try Vault.open(configuration)
        defer { vault.close() }
        #expect(try vault.tenant(named: "beta").state == .shredScheduled)
        try await Self.runScheduler(on: vault, delayMilliseconds: 0) { vault in
            let shredded = try await eventually { try vault.tenant(named: "beta").state == .shredded }
            #expect(shredded, "tenant beta is still \(String(describing: try? vault.tenant(named: "beta").state))")
            let shred = try #require(try vault.auditRecords().last { $0.action == "shred.tenant" }, "no shred.tenant in the audit log")
            let receiptID = try #require(shred["receipt"])
            let erased = try await eventually { try vault.receipt(id: receiptID).status == .erased }
            #expect(erased, "the tenant's receipt stayed \(String(describing: try? vault.receipt(id: receiptID).status))")
            #expect(try vault.read(tenant: "acme", conversationID: "c1").messages.count == 1)
        }
    }
}
