import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// A plaintext and key-residue scan of the data directory after canary conversations are
/// shredded (by conversation, by subject, by tenant) and the erasure epoch has run.
@Suite("Residue scan")
struct ResidueScanTests {
    @Test("no canary text, and no raw DEK, KEK, index or root key, is left in any file of the data directory")
    func scan() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            try await withErasureVault(data, initialize: true) { vault in
                for tenant in ["acme", "doomed"] { _ = try await vault.createTenant(tenant) }
                let subject = "canary-subject-\(token())"
                let shredded = [Fixture.canary(tenant: "acme", label: "residue-one", subject: "canary-subject-\(token())")]
                    + (0..<2).map { Fixture.canary(tenant: "acme", label: "residue-subject\($0)", subject: subject) }
                let doomed = (0..<2).map { Fixture.canary(tenant: "doomed", label: "residue-tenant\($0)", subject: "canary-subject-\(token())") }
                let survivors = (0..<3).map { Fixture.canary(tenant: "acme", label: "residue-keep\($0)", subject: $0 == 0 ? "canary-subject-\(token())" : nil) }
                // Long conversations, so that message pages are split and freed as they grow.
                let long = Fixture(tenant: "acme", id: "conv-residue-long-\(token())", subject: subject,
                                   messages: (0..<60).map { utf8("canary-long-\($0)-\(token(24))") }, metadata: nil)
                for fixture in shredded + doomed + survivors + [long] { try await vault.store(fixture) }

                var keys: [(String, [UInt8])] = []
                for fixture in shredded + [long] {
                    keys.append(("DEK of \(fixture.id)", try vault.dekBytes(tenant: "acme", conversation: fixture.id)))
                }
                for fixture in doomed {
                    keys.append(("DEK of \(fixture.id)", try vault.dekBytes(tenant: "doomed", conversation: fixture.id)))
                }
                for tenant in ["acme", "doomed"] {
                    let tenantKeys = try vault.tenantKeyBytes(tenant)
                    for (version, key) in tenantKeys.keks { keys.append(("\(tenant) KEK v\(version)", key)) }
                    keys.append(("\(tenant) index key", tenantKeys.index))
                }
                keys.append(("root of epoch 1", try vault.rootBytes().key))

                _ = try await vault.shredConversation(tenant: "acme", conversationID: shredded[0].id)
                let (_, erased) = try await vault.eraseSubject(tenant: "acme", subjectID: subject)
                #expect(erased == 3)
                _ = try await vault.scheduleTenantShred("doomed", delayMilliseconds: 0)
                let epoch = try await vault.runErasureEpoch()
                #expect(epoch.epoch == 2)
                for id in try vault.allReceiptIDs() { #expect(try vault.receipt(id: id).status == .erased) }

                // The keys in use now must not be in any file either.
                let acmeNow = try vault.tenantKeyBytes("acme")
                for (version, key) in acmeNow.keks { keys.append(("acme KEK v\(version) (current)", key)) }
                keys.append(("root of epoch 2 (current)", try vault.rootBytes().key))
                for fixture in survivors {
                    keys.append(("DEK of \(fixture.id) (current)", try vault.dekBytes(tenant: "acme", conversation: fixture.id)))
                }
                try vault.environment.sync()

                let files = filesUnder(data)
                #expect(files.contains(vault.dataDirectory.store + "/data.mdb") && files.contains(vault.dataDirectory.keyring))
                var scannedBytes = 0
                for file in files {
                    let contents = try fileBytes(file)
                    scannedBytes += contents.count
                    // Every client-supplied string, shredded or not: DESIGN §2 keeps them all
                    // inside ciphertext.
                    for fixture in shredded + doomed + survivors + [long] {
                        for canary in fixture.canaries {
                            #expect(!contains(contents, utf8(canary)), "\(file) holds \(canary)")
                        }
                        if let metadata = fixture.metadata { #expect(!contains(contents, metadata), "\(file) holds metadata of \(fixture.id)") }
                    }
                    // The distinctive part of each canary, in case framing split a string.
                    for fixture in shredded + doomed + [long] {
                        for message in fixture.messages {
                            let text = String(decoding: message, as: UTF8.self)
                            if let range = text.range(of: "canary-") {
                                let core = String(text[range.lowerBound...].prefix(24))
                                #expect(!contains(contents, utf8(core)), "\(file) holds \(core)")
                            }
                        }
                    }
                    for (name, key) in keys {
                        #expect(!contains(contents, key), "\(file) holds the raw \(name)")
                    }
                }
                #expect(scannedBytes > 10_000)
                for fixture in survivors { vault.expectIntact(fixture) }
            }
        }
    }
}
