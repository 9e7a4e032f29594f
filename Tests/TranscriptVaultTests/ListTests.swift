import Foundation
import Testing
@testable import TranscriptVault

/// Listing a tenant's conversations by subject and by update time, page by page.
@Suite("List")
struct ListTests {
    /// What the fixture stored for one conversation.
    struct Expected {
        var id: String
        var subject: String?
        var format: String?
        var metadata: [UInt8]?
        var messageCount: UInt64
    }

    /// 25 conversations, appended in order `c00`…`c24` a few milliseconds apart: the even ones
    /// belong to subject "alice" (13), those divisible by 3 and odd to "bob" (4), the rest have
    /// none. Conversation `cNN` holds `NN % 4 + 1` messages.
    static func withFixture(_ body: (Vault, [Expected]) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, tenants: ["acme", "other"]) { vault in
                var expected: [Expected] = []
                for index in 0..<25 {
                    let id = String(format: "c%02d", index)
                    let subject: String? = index % 2 == 0 ? "alice" : (index % 3 == 0 ? "bob" : nil)
                    let format: String? = index % 5 == 0 ? nil : "openai.chat.v\(index)"
                    let metadata: [UInt8]? = index % 7 == 0 ? nil : bytes(#"{ "z":\#(index), "a": 1.0, "name":"\u00e9 ✓ \#(id)" }"#)
                    let count = index % 4 + 1
                    _ = try await vault.append(AppendRequest(
                        tenant: "acme", conversationID: id, messages: (0..<count).map { sampleMessage(id, $0) },
                        subjectID: subject, format: format, metadata: metadata))
                    expected.append(Expected(id: id, subject: subject, format: format, metadata: metadata, messageCount: UInt64(count)))
                    // Distinct update times make the time order the append order.
                    try await Task.sleep(for: .milliseconds(3))
                }
                // Another tenant's conversations, with the same subject, never show up.
                _ = try await vault.append(AppendRequest(
                    tenant: "other", conversationID: "c00", messages: [bytes("{}")], subjectID: "alice"))
                try await body(vault, expected)
            }
        }
    }

    /// Every page of a listing, following `nextCursor`.
    static func pages(_ vault: Vault, _ query: ListQuery) throws -> [ConversationPage] {
        var query = query
        var pages: [ConversationPage] = []
        while true {
            let page = try vault.list(tenant: "acme", query: query)
            pages.append(page)
            guard let cursor = page.nextCursor else { return pages }
            try #require(pages.count < 100, "listing does not terminate")
            query.cursor = cursor
        }
    }

    static func check(_ summary: ConversationSummary, against expected: [Expected], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let want = expected.first(where: { $0.id == summary.conversationID }) else {
            Issue.record("unexpected conversation \(summary.conversationID)", sourceLocation: sourceLocation)
            return
        }
        #expect(summary.subjectID == want.subject, sourceLocation: sourceLocation)
        #expect(summary.format == want.format, sourceLocation: sourceLocation)
        #expect(summary.metadata == want.metadata, sourceLocation: sourceLocation)
        #expect(summary.messageCount == want.messageCount, sourceLocation: sourceLocation)
        #expect(summary.createdAt <= summary.updatedAt, sourceLocation: sourceLocation)
    }

    @Test("by update time: pages of 10, 10 and 5, oldest first, with everything byte-exact")
    func byTime() async throws {
        try await Self.withFixture { vault, expected in
            let pages = try Self.pages(vault, ListQuery(limit: 10))
            #expect(pages.map(\.conversations.count) == [10, 10, 5])
            #expect(pages.last?.nextCursor == nil)
            let all = pages.flatMap(\.conversations)
            #expect(all.map(\.conversationID) == expected.map(\.id))
            #expect(all.map(\.updatedAt) == all.map(\.updatedAt).sorted())
            for summary in all { Self.check(summary, against: expected) }
        }
    }

    @Test("by subject: every conversation of the subject once, across pages", arguments: [
        ("alice", 10, [10, 3]), ("alice", 13, [13]), ("alice", 1000, [13]), ("bob", 2, [2, 2]), ("nobody", 10, [0]),
    ])
    func bySubject(subject: String, limit: Int, sizes: [Int]) async throws {
        try await Self.withFixture { vault, expected in
            let pages = try Self.pages(vault, ListQuery(subjectID: subject, limit: limit))
            #expect(pages.map(\.conversations.count) == sizes)
            let ids = pages.flatMap(\.conversations).map(\.conversationID)
            #expect(Set(ids).count == ids.count, "a conversation was listed twice")
            #expect(Set(ids) == Set(expected.filter { $0.subject == subject }.map(\.id)))
            for summary in pages.flatMap(\.conversations) { Self.check(summary, against: expected) }
        }
    }

    @Test("updatedAfter and updatedBefore are strict bounds, also across pages")
    func timeFilters() async throws {
        try await Self.withFixture { vault, _ in
            let all = try vault.list(tenant: "acme", query: ListQuery(limit: 1000)).conversations
            try #require(all.count == 25)
            let times = all.map(\.updatedAt)
            for (after, before) in [(times[4], nil), (nil, times[20]), (times[4], times[20]), (times[0] - 1, times[24] + 1),
                                    (times[24], nil), (nil, times[0]), (times[10], times[11])] as [(Int64?, Int64?)] {
                let want = all.filter { summary in
                    (after.map { summary.updatedAt > $0 } ?? true) && (before.map { summary.updatedAt < $0 } ?? true)
                }.map(\.conversationID)
                for limit in [3, 1000] {
                    let got = try Self.pages(vault, ListQuery(updatedAfter: after, updatedBefore: before, limit: limit))
                        .flatMap(\.conversations).map(\.conversationID)
                    #expect(got == want, "after \(String(describing: after)), before \(String(describing: before)), limit \(limit)")
                }
            }
        }
    }

    @Test("time filters apply to a subject listing too")
    func subjectWithTimeFilter() async throws {
        try await Self.withFixture { vault, _ in
            let all = try vault.list(tenant: "acme", query: ListQuery(limit: 1000)).conversations
            let pivot = all[12].updatedAt
            let got = try Self.pages(vault, ListQuery(subjectID: "alice", updatedAfter: pivot, limit: 2))
                .flatMap(\.conversations).map(\.conversationID)
            let want = all.filter { $0.subjectID == "alice" && $0.updatedAt > pivot }.map(\.conversationID)
            #expect(Set(got) == Set(want))
            #expect(got.count == want.count)
        }
    }

    @Test("an append moves a conversation to the end of the time order and updates its count")
    func appendMovesToEnd() async throws {
        try await Self.withFixture { vault, expected in
            try await Task.sleep(for: .milliseconds(3))
            _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c03", messages: [bytes("{}")]))
            let all = try Self.pages(vault, ListQuery(limit: 7)).flatMap(\.conversations)
            #expect(all.count == 25)
            #expect(all.last?.conversationID == "c03")
            #expect(all.last?.messageCount == expected[3].messageCount + 1)
            #expect(all.filter { $0.conversationID == "c03" }.count == 1, "the old time index entry was left behind")
            // The update that was not asked for keeps format and metadata as they were.
            #expect(all.last?.format == expected[3].format)
            #expect(all.last?.metadata == expected[3].metadata)
        }
    }

    @Test("a later append may replace format and metadata")
    func replaceMetadata() async throws {
        try await Self.withFixture { vault, _ in
            let metadata = bytes(#"{"b":2,   "a":1e2}"#)
            _ = try await vault.append(AppendRequest(
                tenant: "acme", conversationID: "c01", messages: [bytes("{}")], format: "anthropic.messages", metadata: metadata))
            let summary = try #require(try vault.list(tenant: "acme", query: ListQuery(limit: 1000))
                .conversations.first { $0.conversationID == "c01" })
            #expect(summary.format == "anthropic.messages")
            #expect(summary.metadata == metadata)
        }
    }

    @Test("a malformed cursor is refused", arguments: [
        "", "zz", "0", String(repeating: "g", count: 48), String(repeating: "A", count: 48),
        String(repeating: "0", count: 47), String(repeating: "0", count: 50), String(repeating: "0", count: 32),
    ])
    func invalidCursor(cursor: String) async throws {
        try await Self.withFixture { vault, _ in
            await expectInvalidArgument("cursor") {
                _ = try vault.list(tenant: "acme", query: ListQuery(limit: 10, cursor: cursor))
            }
        }
    }

    @Test("a cursor of a time listing is refused by a subject listing, and the other way round")
    func crossedCursors() async throws {
        try await Self.withFixture { vault, _ in
            let timeCursor = try #require(try vault.list(tenant: "acme", query: ListQuery(limit: 2)).nextCursor)
            let subjectCursor = try #require(try vault.list(tenant: "acme", query: ListQuery(subjectID: "alice", limit: 2)).nextCursor)
            await expectInvalidArgument("cursor") {
                _ = try vault.list(tenant: "acme", query: ListQuery(subjectID: "alice", limit: 2, cursor: timeCursor))
            }
            await expectInvalidArgument("cursor") {
                _ = try vault.list(tenant: "acme", query: ListQuery(limit: 2, cursor: subjectCursor))
            }
        }
    }

    @Test("a limit outside 1...1000 is refused", arguments: [0, 1001])
    func badLimit(limit: Int) async throws {
        try await Self.withFixture { vault, _ in
            await expectInvalidArgument("limit") { _ = try vault.list(tenant: "acme", query: ListQuery(limit: limit)) }
        }
    }

    @Test("an unknown tenant is not found")
    func unknownTenant() async throws {
        try await Self.withFixture { vault, _ in
            #expect(throws: VaultError.notFound) { try vault.list(tenant: "nobody", query: ListQuery()) }
        }
    }
}
