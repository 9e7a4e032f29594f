import Testing
import TranscriptCrypto
@testable import TranscriptVault

/// The DEK cache is bounded and evicting from it never changes what reads return.
@Suite("DEK cache")
struct KeyCacheTests {
    @Test("reading 10 conversations round-robin through a tiny cache returns the right messages",
          arguments: [0, 1, 2, 3, 4096])
    func roundRobin(capacity: Int) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, configure: { $0.dekCacheCapacity = capacity }) { vault in
                var expected: [[[UInt8]]] = []
                for conversation in 0..<10 {
                    let messages = (0..<3).map { sampleMessage("c\(conversation)", $0) }
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c\(conversation)", messages: messages))
                    expected.append(messages)
                }
                for round in 0..<4 {
                    for conversation in 0..<10 {
                        let page = try vault.read(tenant: "acme", conversationID: "c\(conversation)")
                        #expect(page.messages.map(\.message) == expected[conversation], "round \(round), conversation \(conversation)")
                        #expect(vault.dekCache.count <= capacity)
                    }
                    // Appends through the cache keep using each conversation's own key.
                    let conversation = round * 3 % 10
                    _ = try await vault.append(AppendRequest(
                        tenant: "acme", conversationID: "c\(conversation)", messages: [sampleMessage("extra", round)]))
                    expected[conversation].append(sampleMessage("extra", round))
                }
                let listed = try vault.list(tenant: "acme", query: ListQuery()).conversations
                #expect(listed.count == 10)
            }
        }
    }

    @Test("the cache keeps at most its capacity and evicts whole generations")
    func bounded() throws {
        let cache = KeyCache(capacity: 4)
        for index in 0..<20 {
            cache.insert(KeyBox(try SecretKey.random()), for: [UInt8(index)])
            #expect(cache.count <= 4)
        }
        #expect(cache.lookup([19]) != nil)
        #expect(cache.lookup([0]) == nil)
        cache.removeAll(withPrefix: [19])
        #expect(cache.lookup([19]) == nil)
    }
}
