import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// The guarantee of DESIGN §4, shown: after a shred's erasure epoch, an attacker holding every
/// copy ever taken of `store/` (before the shred, after it, and at points during the epoch) plus
/// the current keyring and unlock key cannot decrypt any record of the shredded target, while
/// every other record still decrypts with the current keys.
@Suite("Verified erasure")
struct VerifiedErasureTests {
    /// Checks the loot of an attacker after the epoch: nothing of `victims` (whose DEKs were
    /// captured before the shred), everything of `survivors` from the current store.
    static func expectErased(
        _ loot: Attacker.Loot, victims: [Fixture], victimDEKs: [[UInt8]], victimHashes: [(UInt32, [UInt8])],
        survivors: [Fixture], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        // The attack really ran over the material (it is not vacuous).
        #expect(loot.roots.count == 1, "the current keyring holds one root", sourceLocation: sourceLocation)
        #expect(!loot.evidence.messages.isEmpty && loot.evidence.sealedKeys.count > 10, sourceLocation: sourceLocation)
        for dek in victimDEKs {
            #expect(!loot.holds(dek), "a shredded conversation's DEK was recovered", sourceLocation: sourceLocation)
        }
        for (tenant, ck) in victimHashes {
            #expect(!loot.opened(tenant: tenant, ck: ck), "a record of a shredded conversation opened", sourceLocation: sourceLocation)
            // Its sealed records were in the copies: the attacker had something to try.
            #expect(loot.evidence.messages.contains { $0.tenant == tenant && $0.ck == ck }, sourceLocation: sourceLocation)
        }
        // A subject id a survivor shares (the same subject in another conversation or tenant)
        // rightly stays readable in the survivor's metadata.
        let shared = Set(survivors.flatMap(\.canaries))
        for victim in victims {
            for canary in victim.canaries where !shared.contains(canary) {
                #expect(!loot.reveals(canary), "shredded content was decrypted: \(canary)", sourceLocation: sourceLocation)
            }
        }
        for survivor in survivors {
            for message in survivor.messages {
                #expect(loot.reveals(message), "\(survivor.id) did not decrypt with the current keys", sourceLocation: sourceLocation)
            }
        }
        // Nor can a guess of a shredded append's content be confirmed against its idempotency
        // record, which the copies taken before the shred still hold; a survivor's can (the
        // check is not vacuous: the attacker holds the survivors' keys).
        #expect(!loot.evidence.idempotencyHashes.isEmpty, sourceLocation: sourceLocation)
        for victim in victims {
            for request in victim.appends {
                #expect(!loot.confirms(request), "a shredded append's content was confirmed: \(victim.id)", sourceLocation: sourceLocation)
            }
        }
        for survivor in survivors {
            for request in survivor.appends {
                #expect(loot.confirms(request), "\(survivor.id)'s content was not confirmed with the current keys", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("a shredded conversation cannot be decrypted from any copy once its epoch is done")
    func conversation() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(data, initialize: true) { vault in
                for tenant in ["acme", "globex"] { _ = try await vault.createTenant(tenant) }
                let victim = Fixture.canary(tenant: "acme", label: "victim", subject: "subject-\(token())")
                // A survivor of the victim's subject: a conversation shred leaves it alone.
                var survivors = [Fixture.canary(tenant: "acme", label: "same-subject", subject: victim.subject)]
                survivors += (0..<5).map { Fixture.canary(tenant: "acme", label: "keep\($0)") }
                survivors += (0..<2).map { Fixture.canary(tenant: "globex", label: "other\($0)") }
                for fixture in [victim] + survivors { try await vault.store(fixture) }

                let victimDEK = try vault.dekBytes(tenant: "acme", conversation: victim.id)
                let victimHash = try vault.conversationHash(tenant: "acme", conversation: victim.id)
                try copies.take(vault, "before-shred")

                let receipt = try await vault.shredConversation(tenant: "acme", conversationID: victim.id)
                #expect(receipt.status == .pending && receipt.target == .conversation && receipt.conversations == 1)
                #expect(try vault.receipt(id: receipt.id).status == .pending)
                vault.expectGone(victim)
                try copies.take(vault, "after-shred")

                // Control: before the epoch, the same attack does decrypt the victim from the
                // copy taken before the shred. What follows is what makes the difference.
                let early = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                #expect(early.holds(victimDEK))
                #expect(early.reveals(victim.messages[0]))

                // Step 1: the tenant KEK rotation, copying the store between its batches.
                let copyFailures = Locked<[String]>([])
                let rotation = try await vault.rotateTenantKEK("acme", batchSize: 2) { done, _ in
                    do { try copies.take(vault, "kek-batch-\(done)") } catch { copyFailures.withLock { $0.append("\(error)") } }
                }
                #expect(copyFailures.current.isEmpty)
                #expect(rotation.destroyed == [1] && rotation.version == 2 && rotation.rewrapped == survivors.count - 2)
                // The KEK that wrapped the victim is gone, but the root that sealed it still
                // is, in the keyring: not erased yet.
                #expect(try vault.receipt(id: receipt.id).status == .pending)
                try copies.take(vault, "after-kek")

                // Step 2: the root rotation.
                let epoch = try await vault.rotateRoot()
                #expect(epoch == 2)
                // Rotations made by hand are not an epoch: the receipt waits for the epoch,
                // which alone guarantees the order (KEK before root; see ReceiptHonestyTests).
                #expect(try vault.receipt(id: receipt.id).status == .pending)
                try copies.take(vault, "after-root")

                // The scheduled epoch runs (the shred's mark is still pending).
                let ran = try await vault.runErasureEpoch()
                #expect(ran.tenants == ["acme"] && ran.epoch == 3)
                #expect(try vault.pendingErasureSince() == nil)
                #expect(try vault.receipt(id: receipt.id).status == .erased)
                try copies.take(vault, "after-epoch")

                let loot = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                Self.expectErased(loot, victims: [victim], victimDEKs: [victimDEK], victimHashes: [victimHash], survivors: survivors)
                #expect(loot.evidence.copiesOpened == copies.directories.count + 1)
                for survivor in survivors { vault.expectIntact(survivor) }
                vault.expectGone(victim)
            }
        }
    }

    @Test("an erased subject cannot be decrypted from any copy, including copies taken during the epoch")
    func subject() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(data, initialize: true) { vault in
                for tenant in ["acme", "globex"] { _ = try await vault.createTenant(tenant) }
                let subject = "subject-\(token())"
                let victims = (0..<3).map { Fixture.canary(tenant: "acme", label: "subject-victim\($0)", subject: subject) }
                var survivors = [Fixture.canary(tenant: "acme", label: "other-subject", subject: "subject-\(token())")]
                survivors += (0..<3).map { Fixture.canary(tenant: "acme", label: "keep\($0)") }
                // The same subject id in another tenant is another subject.
                survivors.append(Fixture.canary(tenant: "globex", label: "globex-same-id", subject: subject))
                for fixture in victims + survivors { try await vault.store(fixture) }

                let victimDEKs = try victims.map { try vault.dekBytes(tenant: "acme", conversation: $0.id) }
                let victimHashes = try victims.map { try vault.conversationHash(tenant: "acme", conversation: $0.id) }
                try copies.take(vault, "before-erase")

                let (receipt, count) = try await vault.eraseSubject(tenant: "acme", subjectID: subject)
                #expect(count == 3 && receipt.target == .subject && receipt.status == .pending)
                #expect(try vault.receipt(id: receipt.id).status == .pending)
                for victim in victims { vault.expectGone(victim) }
                try copies.take(vault, "after-erase")

                let early = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                #expect(victimDEKs.allSatisfy(early.holds))

                // The epoch, with a thief copying the store as fast as it can while it runs.
                let stop = Locked(false)
                let thief = Task.detached { () -> [String] in
                    var failures: [String] = []
                    var index = 0
                    while !stop.current && index < 40 {
                        do { try copies.takeConsistent(vault, "during-epoch-\(index)") } catch { failures.append("\(error)") }
                        index += 1
                    }
                    return failures
                }
                let epoch = try await vault.runErasureEpoch()
                stop.withLock { $0 = true }
                #expect(await thief.value.isEmpty)
                #expect(epoch.tenants == ["acme"] && epoch.epoch == 2)
                #expect(try vault.receipt(id: receipt.id).status == .erased)
                try copies.take(vault, "after-epoch")

                let loot = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                Self.expectErased(loot, victims: victims, victimDEKs: victimDEKs, victimHashes: victimHashes, survivors: survivors)
                for survivor in survivors { vault.expectIntact(survivor) }
                let listed = try vault.list(tenant: "acme", query: ListQuery(subjectID: subject))
                #expect(listed.conversations.isEmpty)
            }
        }
    }

    @Test("a shredded tenant cannot be decrypted from any copy once its epoch is done")
    func tenant() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(data, initialize: true) { vault in
                for tenant in ["doomed", "keep"] { _ = try await vault.createTenant(tenant) }
                let victims = (0..<4).map { Fixture.canary(tenant: "doomed", label: "tenant-victim\($0)", subject: $0 % 2 == 0 ? "subject-\(token())" : nil) }
                let survivors = (0..<3).map { Fixture.canary(tenant: "keep", label: "keep\($0)") }
                for fixture in victims + survivors { try await vault.store(fixture) }
                let victimDEKs = try victims.map { try vault.dekBytes(tenant: "doomed", conversation: $0.id) }
                let victimHashes = try victims.map { try vault.conversationHash(tenant: "doomed", conversation: $0.id) }
                let doomedKeys = try vault.tenantKeyBytes("doomed")
                let doomedNumber = try vault.tenantRecordNow("doomed").number
                try copies.take(vault, "before-shred")

                // A rotation before the shred leaves one more KEK version in older copies.
                _ = try await vault.rotateTenantKEK("doomed", batchSize: 1)
                let rotatedKeys = try vault.tenantKeyBytes("doomed")
                try copies.take(vault, "after-rotation")

                let (_, receipt) = try await vault.scheduleTenantShred("doomed", delayMilliseconds: 0)
                let shred = try #require(receipt)
                #expect(shred.target == .tenant && shred.status == .pending)
                #expect(try vault.tenant(named: "doomed").state == .shredded)
                for victim in victims {
                    #expect(throws: VaultError.tenantShredded) { try vault.read(tenant: "doomed", conversationID: victim.id) }
                }
                try copies.take(vault, "after-shred")

                let early = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                #expect(victimDEKs.allSatisfy(early.holds))

                let epoch = try await vault.runErasureEpoch()
                #expect(epoch.tenants.isEmpty && epoch.epoch == 2)
                #expect(try vault.receipt(id: shred.id).status == .erased)
                try copies.take(vault, "after-epoch")

                let loot = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                Self.expectErased(loot, victims: victims, victimDEKs: victimDEKs, victimHashes: victimHashes, survivors: survivors)
                #expect(!loot.keks.contains { $0.tenant == doomedNumber }, "a KEK of the shredded tenant was recovered")
                #expect(!loot.indexKeys.contains { $0.tenant == doomedNumber }, "the shredded tenant's index key was recovered")
                for key in Array(doomedKeys.keks.values) + Array(rotatedKeys.keks.values) + [doomedKeys.index] {
                    #expect(!loot.holds(key))
                }
                for survivor in survivors { vault.expectIntact(survivor) }
                // Its records are purged from the live store, too.
                for database in [Schema.conversations, Schema.messages, Schema.subjects, Schema.times] {
                    #expect(try vault.entries(of: doomedNumber, in: database) == 0)
                }
            }
        }
    }
}
