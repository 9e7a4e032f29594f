import Testing
@testable import TranscriptVault

/// Reading a conversation page by page with `afterSeq` and `nextAfterSeq`.
@Suite("Read paging")
struct PagingTests {
    /// 250 messages appended in three appends of different sizes (1, 99, 150).
    static func withConversation(_ body: (Vault, [[UInt8]]) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let messages = (1...250).map { sampleMessage("paging", $0) }
                var next: UInt64 = 1
                for range in [0..<1, 1..<100, 100..<250] {
                    let result = try await vault.append(AppendRequest(
                        tenant: "acme", conversationID: "long", messages: Array(messages[range])))
                    #expect(result.firstSeq == next)
                    #expect(result.lastSeq == next + UInt64(range.count) - 1)
                    next = result.lastSeq + 1
                }
                try await body(vault, messages)
            }
        }
    }

    @Test("a page stops once its messages pass the byte budget, after at least one, and nextAfterSeq continues it")
    func byteBudget() async throws {
        try await Self.withConversation { vault, messages in
            let size = messages[0].count
            // Three messages reach the budget: the page stops there, short of its limit.
            let page = try vault.read(tenant: "acme", conversationID: "long", limit: 100, maxBytes: 2 * size + 1)
            #expect(page.messages.map(\.message) == Array(messages[0..<3]))
            #expect(page.nextAfterSeq == 3)
            // A budget smaller than one message still gives one.
            let one = try vault.read(tenant: "acme", conversationID: "long", afterSeq: 3, limit: 100, maxBytes: 1)
            #expect(one.messages.map(\.seq) == [4])
            #expect(one.nextAfterSeq == 4)
            // Followed to the end, the pages hold every message once, in order.
            var seen: [[UInt8]] = []
            var after: UInt64 = 0
            while true {
                let next = try vault.read(tenant: "acme", conversationID: "long", afterSeq: after, limit: 1000, maxBytes: 10 * size)
                try #require(next.messages.count <= 10)
                seen += next.messages.map(\.message)
                guard let cursor = next.nextAfterSeq else { break }
                after = cursor
                try #require(seen.count <= messages.count, "paging does not terminate")
            }
            #expect(seen == messages)
            // The default budget leaves pages of small messages to their limit.
            #expect(Vault.readPageBytes == 8 << 20)
            #expect(try vault.read(tenant: "acme", conversationID: "long", limit: 1000).messages.count == 250)
        }
    }

    @Test("pages of 100, 100 and 50 chain through nextAfterSeq and end with nil")
    func pagesChain() async throws {
        try await Self.withConversation { vault, messages in
            var sizes: [Int] = []
            var cursors: [UInt64?] = []
            var seen: [StoredMessage] = []
            var after: UInt64 = 0
            while true {
                let page = try vault.read(tenant: "acme", conversationID: "long", afterSeq: after, limit: 100)
                sizes.append(page.messages.count)
                cursors.append(page.nextAfterSeq)
                seen += page.messages
                guard let next = page.nextAfterSeq else { break }
                after = next
                try #require(sizes.count < 10, "paging does not terminate")
            }
            #expect(sizes == [100, 100, 50])
            #expect(cursors == [100, 200, nil])
            #expect(seen.map(\.seq) == Array(1...250))
            #expect(seen.map(\.message) == messages)
        }
    }

    @Test("the default limit is 100")
    func defaultLimit() async throws {
        try await Self.withConversation { vault, _ in
            let page = try vault.read(tenant: "acme", conversationID: "long")
            #expect(page.messages.count == 100)
            #expect(page.nextAfterSeq == 100)
        }
    }

    @Test("a page that ends exactly at the last message has no next page")
    func exactEnd() async throws {
        try await Self.withConversation { vault, messages in
            let page = try vault.read(tenant: "acme", conversationID: "long", afterSeq: 150, limit: 100)
            #expect(page.messages.map(\.seq) == Array(151...250))
            #expect(page.messages.map(\.message) == Array(messages[150...]))
            #expect(page.nextAfterSeq == nil)
        }
    }

    @Test("a page in the middle starts right after afterSeq", arguments: [(0, 1), (1, 7), (99, 2), (248, 5)])
    func middle(after: Int, limit: Int) async throws {
        try await Self.withConversation { vault, messages in
            let page = try vault.read(tenant: "acme", conversationID: "long", afterSeq: UInt64(after), limit: limit)
            let expected = Array((after + 1)...min(after + limit, 250))
            #expect(page.messages.map(\.seq) == expected.map(UInt64.init))
            #expect(page.messages.map(\.message) == expected.map { messages[$0 - 1] })
            #expect(page.nextAfterSeq == (after + limit < 250 ? UInt64(after + limit) : nil))
        }
    }

    @Test("afterSeq at or past the end gives an empty last page", arguments: [UInt64(250), 251, 10_000, UInt64.max])
    func pastEnd(after: UInt64) async throws {
        try await Self.withConversation { vault, _ in
            let page = try vault.read(tenant: "acme", conversationID: "long", afterSeq: after, limit: 100)
            #expect(page.messages.isEmpty)
            #expect(page.nextAfterSeq == nil)
        }
    }

    @Test("a limit outside 1...1000 is refused", arguments: [0, -1, 1001])
    func badLimit(limit: Int) async throws {
        try await Self.withConversation { vault, _ in
            await expectInvalidArgument("limit") {
                _ = try vault.read(tenant: "acme", conversationID: "long", limit: limit)
            }
        }
    }

    @Test("appends after a read continue the sequence")
    func appendAfterRead() async throws {
        try await Self.withConversation { vault, _ in
            _ = try vault.read(tenant: "acme", conversationID: "long", afterSeq: 200)
            let result = try await vault.append(AppendRequest(
                tenant: "acme", conversationID: "long", messages: [sampleMessage("more", 1)]))
            #expect(result.firstSeq == 251)
            let page = try vault.read(tenant: "acme", conversationID: "long", afterSeq: 250)
            #expect(page.messages.map(\.message) == [sampleMessage("more", 1)])
        }
    }
}
