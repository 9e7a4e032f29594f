import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// A kill at each step of a shred's erasure epoch (the child commits durably, through
/// `redo.log`), then the repair a restarted server runs, again with durable commits: the files
/// the kill left (`redo.log` with its stale records, `data.mdb`, keyring leftovers) and those
/// after the repair are all given to the attacker, who must open nothing shredded.
@Suite("Redo log erasure after a crash")
struct RedoLogCrashErasureTests {
    static let cases: [FaultCrashTests.Case] = [
        .init(scenario: .shredEpoch, fault: "kek.started"),
        .init(scenario: .shredEpoch, fault: "kek.batch"),
        .init(scenario: .shredEpoch, fault: "epoch.kek-done"),
        .init(scenario: .shredEpoch, fault: "root.keyring-both"),
        .init(scenario: .shredEpoch, fault: "root.committed"),
        .init(scenario: .shredEpoch, fault: "root.keyring-final"),
        .init(scenario: .subjectEpoch, fault: "root.committed"),
        .init(scenario: .tenantShred, fault: "tenant.keys-deleted"),
        .init(scenario: .tenantShred, fault: "root.keyring-both"),
        .init(scenario: .tenantShred, fault: "root.committed"),
        .init(scenario: .tenantShred, fault: "root.keyring-final"),
    ]

    @Test("no key left in redo.log or any file by a kill mid-epoch opens a shredded record once the epoch is done", arguments: cases)
    func killMidEpoch(_ testCase: FaultCrashTests.Case) async throws {
        try await withScratchDirectory { scratch in
            let directory = scratch + "/data"
            let world = FaultCrashTests.World()
            try await world.build(directory)
            let victims = testCase.scenario.targets(world)
            var victimDEKs: [[UInt8]] = []
            var victimHashes: [(UInt32, [UInt8])] = []
            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(directory) { vault in
                for fixture in victims {
                    victimDEKs.append(try vault.dekBytes(tenant: fixture.tenant, conversation: fixture.id))
                    victimHashes.append(try vault.conversationHash(tenant: fixture.tenant, conversation: fixture.id))
                }
                try copies.take(vault, "before")
            }

            let run = try await FaultCrashTests.runChild([directory] + testCase.scenario.arguments(world), fault: testCase.fault)
            try #require(run.killed, "the child did not die at \(testCase.fault ?? "-"): \(run.lines) \(run.stderr)")

            // Every file the kill left, as a thief copying the directory now would take it.
            let left = scratch + "/left"
            try FileManager.default.copyItem(atPath: directory, toPath: left)
            let leftLogs = filesUnder(left).filter { $0.hasSuffix("/redo.log") }
            #expect(!leftLogs.isEmpty, "the durable child left no redo.log")

            var configuration = erasureConfiguration(directory)
            configuration.durable = true
            let vault = try Vault.open(configuration)
            defer { vault.close() }
            _ = try await vault.resumeRotations()
            _ = try await vault.shredDueTenants()
            _ = try await vault.runErasureEpoch()
            #expect(try vault.pendingErasureSince() == nil)
            for id in try vault.allReceiptIDs() { #expect(try vault.receipt(id: id).status == .erased) }

            var attacker = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack")
            attacker.redoLogs += leftLogs
            attacker.rawFiles += filesUnder(left).filter { !$0.hasSuffix("/redo.log") }
            attacker.rawFiles += filesUnder(directory).filter { !$0.hasSuffix("/redo.log") && !$0.hasSuffix("/data.mdb") }
            let loot = try attacker.run()
            let survivors = world.all.filter { !victims.contains($0) }
            VerifiedErasureTests.expectErased(loot, victims: victims, victimDEKs: victimDEKs, victimHashes: victimHashes,
                                              survivors: survivors)
        }
    }
}
