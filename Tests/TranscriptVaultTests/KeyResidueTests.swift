import Foundation
import Synchronization
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// After an erasure epoch no unwrapped key of shredded data may stay in the process: not a
/// destroyed KEK version in the tenant-key cache, and not a key put back into a cache by a
/// reader whose snapshot predates the shred (it may use the key for its own answer, begun
/// before the shred, but not cache it).
@Suite("Keys of shredded data do not stay in the caches")
struct KeyResidueTests {
    /// The tenant's number, and the conversation's hash, KEK version and sealed DEK as stored
    /// now (what an earlier copy of the store file keeps after the shred).
    static func stored(_ vault: Vault, tenant: String, conversation: String) throws -> (UInt32, [UInt8], UInt32, [UInt8]) {
        try vault.environment.read { txn in
            let record = try #require(try vault.tenantRecord(tenant, in: txn))
            let keys = try vault.keys(for: record)
            let ck = keys.hash(conversation, domain: "conversation")
            let conversation = try #require(try txn.withValue(
                in: vault.db.conversations, forKey: Schema.conversationKey(tenant: record.number, conversation: ck),
                { try ConversationRecord(decoding: $0) }))
            return (record.number, ck, conversation.kekVersion, conversation.sealedDEK)
        }
    }

    /// Runs `body` in a read transaction on another thread, as `Vault.read` does (the caches'
    /// mark taken first), holding the snapshot until `during` has run.
    static func readAcross(_ vault: Vault, during: () async throws -> Void,
                           _ body: @escaping @Sendable (Vault.CacheMark, ReadTransaction) throws -> Void) async throws {
        let opened = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let failure = ErrorSlot()
        let thread = Thread {
            do {
                let mark = vault.cacheMark()
                try vault.environment.read { txn in
                    opened.signal()
                    go.wait()
                    try body(mark, txn)
                }
            } catch {
                failure.error.withLock { $0 = error }
            }
            done.signal()
        }
        thread.start()
        await offloadWait(opened)
        try await during()
        go.signal()
        await offloadWait(done)
        if let error = failure.error.withLock({ $0 }) { throw error }
    }

    final class ErrorSlot: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    static func offloadWait(_ semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                semaphore.wait()
                continuation.resume()
            }
        }
    }

    @Test("once an epoch has rotated the KEK, the cache holds no destroyed version, which would open an old copy's DEK")
    func destroyedKEKNotCached() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "secret", messages: [sampleMessage("s", 1)]))
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "kept", messages: [sampleMessage("k", 1)]))
                let (number, ck, version, oldSealed) = try Self.stored(vault, tenant: "acme", conversation: "secret")
                _ = try await vault.shredConversation(tenant: "acme", conversationID: "secret")
                _ = try await vault.runErasureEpoch()
                if let cached = vault.tenantCache.lookup(number) {
                    #expect(cached.keks[version] == nil, "the destroyed KEK version is still cached")
                    if let kek = cached.keks[version] {
                        #expect(throws: (any Error).self, "the cached destroyed KEK opens the shredded DEK") {
                            try AEAD.openKey(oldSealed, using: kek.key, authenticating: AssociatedData.dek(
                                storeID: vault.storeID, tenant: number, conversation: ck, kekVersion: version))
                        }
                    }
                }
                // The tenant's other data still reads, under the new version.
                #expect(try vault.read(tenant: "acme", conversationID: "kept").messages.count == 1)
                #expect(try #require(vault.tenantCache.lookup(number)).keks[version] == nil)
            }
        }
    }

    @Test("a read whose snapshot predates a conversation's shred does not put its DEK back into the cache")
    func readerDoesNotRecacheShreddedDEK() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "secret", messages: [sampleMessage("s", 1)]))
                vault.dekCache.removeAll(withPrefix: [])
                try await Self.readAcross(vault, during: {
                    _ = try await vault.shredConversation(tenant: "acme", conversationID: "secret")
                }) { mark, txn in
                    // What `Vault.read` does, from the snapshot taken before the shred.
                    let record = try #require(try vault.tenantRecord("acme", in: txn))
                    let keys = try vault.keys(for: record, since: mark)
                    let ck = keys.hash("secret", domain: "conversation")
                    let conversation = try #require(try txn.withValue(
                        in: vault.db.conversations, forKey: Schema.conversationKey(tenant: record.number, conversation: ck),
                        { try ConversationRecord(decoding: $0) }), "the snapshot does not predate the shred")
                    _ = try vault.dataKey(tenant: keys, conversation: ck, record: conversation, since: mark)
                }
                _ = try await vault.runErasureEpoch()
                #expect(vault.dekCache.count == 0, "the shredded conversation's DEK is back in the cache")
                // A read with no shred in between caches its key as before.
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "other", messages: [sampleMessage("o", 1)]))
                vault.dekCache.removeAll(withPrefix: [])
                _ = try vault.read(tenant: "acme", conversationID: "other")
                #expect(vault.dekCache.count == 1)
            }
        }
    }

    @Test("a read whose snapshot predates a tenant's shred does not put the tenant's keys back into the cache")
    func readerDoesNotRecacheShreddedTenantKeys() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, tenants: ["acme", "other"]) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "secret", messages: [sampleMessage("s", 1)]))
                let number = try vault.environment.read { try #require(try vault.tenantRecord("acme", in: $0)).number }
                vault.tenantCache.remove(number)
                try await Self.readAcross(vault, during: {
                    _ = try await vault.scheduleTenantShred("acme", delayMilliseconds: 0)
                }) { mark, txn in
                    let record = try #require(try vault.tenantRecord("acme", in: txn))
                    _ = try vault.keys(for: record, since: mark)
                }
                _ = try await vault.runErasureEpoch()
                #expect(vault.tenantCache.lookup(number) == nil, "the shredded tenant's keys are back in the cache")
            }
        }
    }
}
