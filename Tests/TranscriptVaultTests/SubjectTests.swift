import Testing
@testable import TranscriptVault

/// A conversation's subject is set once and never changes.
@Suite("Subject")
struct SubjectTests {
    @Test("a second append with another subject is refused and stores nothing")
    func differentSubject() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "alice"))
                await expectInvalidArgument("subject_id") {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "bob"))
                }
                #expect(try readAll(vault, tenant: "acme", conversation: "c").count == 1)
                #expect(try vault.list(tenant: "acme", query: ListQuery(subjectID: "bob")).conversations.isEmpty)
                // The same subject, or none, is fine.
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "alice"))
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")]))
                let listed = try vault.list(tenant: "acme", query: ListQuery(subjectID: "alice")).conversations
                #expect(listed.map(\.conversationID) == ["c"])
                #expect(listed.first?.subjectID == "alice")
                #expect(listed.first?.messageCount == 3)
            }
        }
    }

    @Test("a conversation created without a subject takes one later, once")
    func subjectSetLater() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], format: "f"))
                #expect(try vault.list(tenant: "acme", query: ListQuery()).conversations.first?.subjectID == nil)
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "alice"))
                let listed = try vault.list(tenant: "acme", query: ListQuery(subjectID: "alice")).conversations
                #expect(listed.map(\.conversationID) == ["c"])
                #expect(listed.first?.subjectID == "alice")
                #expect(listed.first?.format == "f")
                await expectInvalidArgument("subject_id") {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "bob"))
                }
            }
        }
    }

    @Test("subject ids that differ only in case or Unicode form are different subjects")
    func exactComparison() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: "Zoe\u{0301}"))
                for other in ["zoe\u{0301}", "Zo\u{00e9}", "Zoe\u{0301} "] {
                    await expectInvalidArgument("subject_id") {
                        _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}")], subjectID: other))
                    }
                }
            }
        }
    }
}
