import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// Key rotations while the store keeps serving.
@Suite("Online rotation")
struct OnlineRotationTests {
    static func message(_ conversation: Int, _ seq: Int) -> [UInt8] {
        utf8(#"{"role":"user","c":\#(conversation),"n":\#(seq),"content":"rotation load"}"#)
    }

    @Test("a KEK rotation in small batches while 4 tasks append and read loses nothing and leaves one version")
    func kekRotationUnderLoad() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            try await withErasureVault(data, initialize: true) { vault in
                _ = try await vault.createTenant("busy")
                let count = 2000
                // Conversation i holds messages 1...k; `expected` tracks k per conversation.
                var tickets: [AppendTicket] = []
                for index in 0..<count {
                    tickets.append(try vault.enqueueAppend(AppendRequest(
                        tenant: "busy", conversationID: "c-\(index)", messages: [Self.message(index, 1)])))
                }
                for ticket in tickets { _ = try await ticket.value() }
                let oldKEK = try #require(try vault.tenantKeyBytes("busy").keks[1])
                let copies = try StoreCopies(root: scratch + "/copies")
                try copies.takeConsistent(vault, "before-rotation")

                let done = Locked(false)
                let batches = Locked(0)
                let expected = Locked([Int](repeating: 1, count: count))
                let created = Locked(0)
                let load = Task.detached { () -> (appends: Int, reads: Int, errors: [String]) in
                    await withTaskGroup(of: (Int, Int, [String]).self) { group in
                        // Two appenders, each owning half of the conversations, and creating new ones.
                        for appender in 0..<2 {
                            group.addTask {
                                var appends = 0
                                var errors: [String] = []
                                var round = 0
                                while !done.current || round < 50 {
                                    round += 1
                                    let index = Int.random(in: 0..<(count / 2)) * 2 + appender
                                    let next = expected.withLock { $0[index] } + 1
                                    do {
                                        let result = try await vault.append(AppendRequest(
                                            tenant: "busy", conversationID: "c-\(index)", messages: [Self.message(index, next)]))
                                        if result.firstSeq != UInt64(next) { errors.append("c-\(index) got seq \(result.firstSeq), not \(next)") }
                                        expected.withLock { $0[index] = next }
                                        if round % 10 == 0 {
                                            let id = created.withLock { value -> Int in value += 1; return value }
                                            _ = try await vault.append(AppendRequest(
                                                tenant: "busy", conversationID: "new-\(id)", messages: [Self.message(-id, 1)]))
                                        }
                                        appends += 1
                                    } catch {
                                        errors.append("append c-\(index): \(error)")
                                    }
                                }
                                return (appends, 0, errors)
                            }
                        }
                        // Two readers, checking every message of random conversations.
                        for _ in 0..<2 {
                            group.addTask {
                                var reads = 0
                                var errors: [String] = []
                                var round = 0
                                while !done.current || round < 50 {
                                    round += 1
                                    let index = Int.random(in: 0..<count)
                                    let atLeast = expected.withLock { $0[index] }
                                    do {
                                        let stored = try vault.readAll(tenant: "busy", conversation: "c-\(index)")
                                        if stored.count < atLeast || stored.enumerated().contains(where: { $0.element.message != Self.message(index, $0.offset + 1) }) {
                                            errors.append("c-\(index) read back other content")
                                        }
                                        reads += 1
                                    } catch {
                                        errors.append("read c-\(index): \(error)")
                                    }
                                    await Task.yield()
                                }
                                return (0, reads, errors)
                            }
                        }
                        var total = (appends: 0, reads: 0, errors: [String]())
                        for await (appends, reads, errors) in group {
                            total.appends += appends
                            total.reads += reads
                            total.errors += errors
                        }
                        return total
                    }
                }

                let rotation = try await vault.rotateTenantKEK("busy", batchSize: 100) { _, _ in
                    batches.withLock { $0 += 1 }
                }
                done.withLock { $0 = true }
                let traffic = await load.value
                #expect(traffic.errors.isEmpty, "\(traffic.errors.prefix(5))")
                #expect(traffic.appends >= 100 && traffic.reads >= 100)

                #expect(rotation.version == 2 && rotation.destroyed == [1])
                #expect(rotation.rewrapped == count, "new conversations are created under the new version")
                #expect(batches.current >= count / 100, "the rotation ran in \(batches.current) batches")

                // One KEK version left, every DEK under it.
                let record = try vault.tenantRecordNow("busy")
                #expect(record.keks.map(\.version) == [2] && record.currentKEK == 2)
                #expect(try vault.tenant(named: "busy").kekVersion == 2)
                let currentKEK = try #require(try vault.tenantKeyBytes("busy").keks[2])
                #expect(currentKEK != oldKEK)

                // Every conversation reads back in full.
                let final = expected.current
                for index in 0..<count {
                    let stored = try vault.readAll(tenant: "busy", conversation: "c-\(index)")
                    #expect(stored.map(\.message) == (1...final[index]).map { Self.message(index, $0) }, "c-\(index)")
                }
                for id in 1...max(created.current, 1) where created.current > 0 {
                    let stored = try vault.readAll(tenant: "busy", conversation: "new-\(id)")
                    #expect(stored.map(\.message) == [Self.message(-id, 1)])
                }
                let versions = try vault.environment.read { txn in
                    try txn.withCursor(vault.db.conversations) { cursor in
                        var versions: [UInt32: Int] = [:]
                        var entry = try cursor.seek(atLeast: .bigEndian(record.number))
                        while let current = entry, current.key.hasPrefix(.bigEndian(record.number)) {
                            versions[try ConversationRecord(decoding: current.value).kekVersion, default: 0] += 1
                            entry = try cursor.next()
                        }
                        return versions
                    }
                }
                #expect(versions == [2: count + created.current])

                // The copy taken before: its DEK wraps do not open under the current KEK.
                let copy = try #require(copies.directories.first)
                var options = Environment.Options()
                options.durable = false
                let environment = try Environment(path: copy, databases: Schema.all, options: options)
                let kek = try keyBox(currentKEK)
                let storeID = vault.storeID
                let (tried, opened) = try environment.read { txn in
                    try txn.withCursor(environment[Schema.conversations]) { cursor in
                        var tried = 0
                        var opened = 0
                        var entry = try cursor.first()
                        while let current = entry {
                            let key = Array(current.key)
                            let stored = try ConversationRecord(decoding: current.value)
                            for version: UInt32 in 1...3 {
                                let ad = AssociatedData.dek(storeID: storeID, tenant: record.number, conversation: Array(key[4...]), kekVersion: version)
                                if (try? AEAD.open(stored.sealedDEK, using: kek.key, authenticating: ad)) != nil { opened += 1 }
                            }
                            tried += 1
                            entry = try cursor.next()
                        }
                        return (tried, opened)
                    }
                }
                #expect(tried == count)
                #expect(opened == 0, "\(opened) DEK wraps of the old copy opened under the new KEK")
            }
        }
    }

    /// Tenants created while the root rotates must be sealed under the root that the store ends
    /// up on: a tenant sealed under a root the keyring no longer holds has lost its keys.
    @Test("tenants created during root rotations keep their keys")
    func tenantsCreatedDuringRootRotation() async throws {
        try await withScratchDirectory { scratch in
            let data = scratch + "/data"
            let names = (0..<40).map { "t\($0)" }
            try await withErasureVault(data, initialize: true) { vault in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for _ in 0..<8 { try await vault.rotateRoot() }
                    }
                    for name in names {
                        group.addTask { _ = try await vault.createTenant(name) }
                    }
                    try await group.waitForAll()
                }
                #expect(vault.epoch == 9)
                for name in names {
                    do {
                        _ = try await vault.append(AppendRequest(tenant: name, conversationID: "c", messages: [utf8("hello \(name)")]))
                    } catch {
                        Issue.record("tenant \(name) is unusable after root rotations: \(error)")
                    }
                }
                // The next rotation (and so the next erasure epoch) still works.
                try await vault.rotateRoot()
            }
            try await withErasureVault(data) { vault in
                for name in names {
                    #expect((try? vault.readAll(tenant: name, conversation: "c").map(\.message)) == [utf8("hello \(name)")],
                            "tenant \(name) lost its keys")
                }
            }
        }
    }
}
