import Foundation
import Logging
import ServiceLifecycle
import Testing
import TranscriptServer
import TranscriptVault

/// `ErasureScheduler` run as a service in a `ServiceGroup`, as `tvault serve` runs it, over a
/// fresh store opened in this process.
@Suite("Erasure scheduler")
struct ErasureSchedulerTests {
    /// A store with tenant acme holding conversations c1 and c2, and a scheduler running on it;
    /// the scheduler is shut down gracefully, the vault closed and the directory removed after.
    static func withScheduler<R>(
        delayMilliseconds: Int64, sweepIntervalMilliseconds: Int64 = 100,
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
        let scheduler = ErasureScheduler(
            vault: vault, delayMilliseconds: delayMilliseconds, sweepIntervalMilliseconds: sweepIntervalMilliseconds, logger: quietLogger)
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

    /// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
    /// The bound is generous: it keeps a broken scheduler from hanging the run, nothing more.
    static func eventually(within seconds: Double = 20, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() > deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("a shred's receipt becomes erased without anyone asking, and the root epoch advances")
    func shredIsErased() async throws {
        try await Self.withScheduler(delayMilliseconds: 0) { vault in
            let epochBefore = try vault.status().epoch
            let receipt = try await vault.shredConversation(tenant: "acme", conversationID: "c1")
            #expect(receipt.target == .conversation)
            let erased = try await Self.eventually { try vault.receipt(id: receipt.id).status == .erased }
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
            let shredded = try await Self.eventually { try vault.tenant(named: "beta").state == .shredded }
            #expect(shredded, "tenant beta is still \(String(describing: try? vault.tenant(named: "beta").state))")
            #expect(try vault.tenant(named: "acme").state == .active)
        }
    }
}
