import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// A receipt reads `erased` only when the shredded data is in fact beyond reach, and the epoch
/// that makes it so is not postponed by later shreds.
@Suite("Receipts and epoch scheduling")
struct ReceiptHonestyTests {
    /// Rotating the root by hand and then the tenant KEK (the reverse of an epoch's order)
    /// leaves the KEK that wrapped the shredded DEK sealed under the current root in every
    /// copy taken between the two: the data is still recoverable, so the receipt is pending.
    @Test("manual rotations in the wrong order do not make a receipt read erased while the data is recoverable")
    func manualRotationsInReverseOrder() async throws {
        try await withScratchDirectory { scratch in
            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                _ = try await vault.createTenant("acme")
                let victim = Fixture.canary(tenant: "acme", label: "reverse-victim")
                let survivors = (0..<3).map { Fixture.canary(tenant: "acme", label: "reverse-keep\($0)") }
                for fixture in [victim] + survivors { try await vault.store(fixture) }
                let victimDEK = try vault.dekBytes(tenant: "acme", conversation: victim.id)
                let victimHash = try vault.conversationHash(tenant: "acme", conversation: victim.id)
                try copies.take(vault, "before-shred")

                let receipt = try await vault.shredConversation(tenant: "acme", conversationID: victim.id)
                try await vault.rotateRoot()
                try copies.take(vault, "after-root")
                _ = try await vault.rotateTenantKEK("acme")
                try copies.take(vault, "after-kek")

                let loot = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                // The control: with these copies and the current keyring, the victim decrypts.
                #expect(loot.holds(victimDEK) && loot.reveals(victim.messages[0]))
                #expect(try vault.receipt(id: receipt.id).status == .pending,
                        "the receipt reads erased while the shredded conversation still decrypts")

                // The erasure epoch does finish the job.
                _ = try await vault.runErasureEpoch()
                try copies.take(vault, "after-epoch")
                #expect(try vault.receipt(id: receipt.id).status == .erased)
                let after = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                VerifiedErasureTests.expectErased(
                    after, victims: [victim], victimDEKs: [victimDEK], victimHashes: [victimHash], survivors: survivors)
            }
        }
    }

    /// The scheduler runs an epoch once the oldest pending shred is `delay` old (DESIGN §4: at
    /// most 60 s after the shred). A tenant shredding again and again must not push that back.
    @Test("a later shred does not postpone the epoch an earlier one waits for")
    func pendingSinceIsTheOldestShred() async throws {
        try await withScratchDirectory { scratch in
            try await withErasureVault(scratch + "/data", initialize: true) { vault in
                _ = try await vault.createTenant("acme")
                let fixtures = (0..<3).map { Fixture.canary(tenant: "acme", label: "since\($0)") }
                for fixture in fixtures { try await vault.store(fixture) }
                #expect(try vault.pendingErasureSince() == nil)

                let first = try await vault.shredConversation(tenant: "acme", conversationID: fixtures[0].id)
                let since = try #require(try vault.pendingErasureSince())
                #expect(since <= first.createdAt)
                try await Task.sleep(for: .milliseconds(20))
                let second = try await vault.shredConversation(tenant: "acme", conversationID: fixtures[1].id)
                #expect(second.createdAt > first.createdAt)
                #expect(try vault.pendingErasureSince() == since, "the second shred moved the first one's deadline")

                _ = try await vault.runErasureEpoch()
                #expect(try vault.pendingErasureSince() == nil)
                for receipt in [first, second] { #expect(try vault.receipt(id: receipt.id).status == .erased) }

                // After the epoch, a new shred starts a new wait.
                let third = try await vault.shredConversation(tenant: "acme", conversationID: fixtures[2].id)
                let next = try #require(try vault.pendingErasureSince())
                #expect(next > since && next <= third.createdAt)
                #expect(try vault.receipt(id: third.id).status == .pending)
                // Earlier receipts stay erased.
                for receipt in [first, second] { #expect(try vault.receipt(id: receipt.id).status == .erased) }
            }
        }
    }
}
