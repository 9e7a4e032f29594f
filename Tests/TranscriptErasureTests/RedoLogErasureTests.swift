import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
import TranscriptTestSupport
@testable import TranscriptVault

/// The erasure guarantee with durable commits, that is with `store/redo.log`: the other erasure
/// tests run without durability (no log at all) and their attacker reads `data.mdb` only. Here
/// the attacker also holds copies of `redo.log` taken at every step and parses every record it
/// finds in them (of every generation, stale ones included), and every other file of the data
/// directory is scanned raw.
@Suite("Redo log erasure")
struct RedoLogErasureTests {
    @Test("with durable commits, nothing shredded decrypts from any redo.log record or any file of the data directory")
    func durableEpoch() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            let copies = try StoreCopies(root: scratch + "/copies")
            let logs = scratch + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            var configuration = erasureConfiguration(data)
            configuration.durable = true
            let vault = try Vault.initialize(configuration)
            defer { vault.close() }
            var logCopies: [String] = []
            func snapshot(_ label: String) throws {
                try copies.take(vault, label)
                let copy = logs + "/\(logCopies.count)-\(label).log"
                try FileManager.default.copyItem(atPath: vault.dataDirectory.store + "/redo.log", toPath: copy)
                logCopies.append(copy)
            }

            for tenant in ["acme", "globex", "doomed"] { _ = try await vault.createTenant(tenant) }
            let subject = "subject-\(token())"
            let victim = Fixture.canary(tenant: "acme", label: "redo-victim")
            let subjectVictims = (0..<2).map { Fixture.canary(tenant: "acme", label: "redo-subject\($0)", subject: subject) }
            let doomed = (0..<2).map { Fixture.canary(tenant: "doomed", label: "redo-tenant\($0)") }
            let survivors = (0..<3).map { Fixture.canary(tenant: "acme", label: "redo-keep\($0)") }
                + (0..<2).map { Fixture.canary(tenant: "globex", label: "redo-other\($0)") }
            let victims = [victim] + subjectVictims + doomed
            for fixture in victims + survivors { try await vault.store(fixture) }
            var victimDEKs: [[UInt8]] = []
            var victimHashes: [(UInt32, [UInt8])] = []
            for fixture in victims {
                victimDEKs.append(try vault.dekBytes(tenant: fixture.tenant, conversation: fixture.id))
                victimHashes.append(try vault.conversationHash(tenant: fixture.tenant, conversation: fixture.id))
            }
            try snapshot("before-shred")

            _ = try await vault.shredConversation(tenant: "acme", conversationID: victim.id)
            let (_, erased) = try await vault.eraseSubject(tenant: "acme", subjectID: subject)
            #expect(erased == 2)
            _ = try await vault.scheduleTenantShred("doomed", delayMilliseconds: 0)
            try snapshot("after-shred")

            // Control: before the epoch, the log copies alone (no data.mdb) give the victims
            // away, so the attack's parsing of the log is not vacuous.
            let early = try Attacker(keyringPath: vault.dataDirectory.keyring, unlockKeyPath: vault.dataDirectory.unlockKey,
                                     copies: [], redoLogs: logCopies).run()
            #expect(early.holds(victimDEKs[0]))
            #expect(early.reveals(victim.messages[0]))

            // Enough writes that the log starts new generations over earlier records.
            let filler = Fixture.canary(tenant: "globex", label: "redo-filler", messages: 1)
            try await vault.store(filler)
            for index in 0..<150 {
                _ = try await vault.append(AppendRequest(tenant: "globex", conversationID: filler.id,
                                                         messages: [utf8(#"{"n":\#(index)}"#)]))
                if index % 50 == 0 { try snapshot("filler-\(index)") }
            }

            let epoch = try await vault.runErasureEpoch()
            #expect(epoch.epoch == 2)
            for id in try vault.allReceiptIDs() { #expect(try vault.receipt(id: id).status == .erased) }
            try snapshot("after-epoch")
            for index in 0..<20 {
                _ = try await vault.append(AppendRequest(tenant: "globex", conversationID: filler.id,
                                                         messages: [utf8(#"{"after":\#(index)}"#)]))
            }
            try snapshot("after-epoch-writes")

            var attacker = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack")
            attacker.redoLogs += logCopies
            attacker.rawFiles += filesUnder(data).filter { !$0.hasSuffix("/data.mdb") && !$0.hasSuffix("/redo.log") }
            #expect(attacker.redoLogs.contains(vault.dataDirectory.store + "/redo.log"))
            // The logs held records of several generations, stale ones among them.
            let generations = try logCopies.reduce(into: Set<UInt64>()) { $0.formUnion(try Self.recordGenerations(fileBytes($1))) }
            #expect(generations.count > 2, "generations seen: \(generations.sorted())")
            let loot = try attacker.run()
            VerifiedErasureTests.expectErased(loot, victims: victims, victimDEKs: victimDEKs, victimHashes: victimHashes,
                                              survivors: survivors)
            for survivor in survivors { vault.expectIntact(survivor) }
            for fixture in victims where fixture.tenant == "acme" { vault.expectGone(fixture) }
        }
    }

    /// The generations of the records found at 4 KiB boundaries of a redo log.
    static func recordGenerations(_ bytes: [UInt8]) -> Set<UInt64> {
        var result: Set<UInt64> = []
        var offset = 0
        while offset + 40 <= bytes.count {
            if isRedoRecordMagic(bytes[offset..<offset + 4]) {
                result.insert(bytes[(offset + 8)..<(offset + 16)].reversed().reduce(0) { $0 << 8 | UInt64($1) })
            }
            offset += 4096
        }
        return result
    }
}
