import Testing
@testable import TranscriptVault

/// One tenant never sees another's conversations: "not yours" looks like "does not exist".
@Suite("Tenant isolation")
struct TenantIsolationTests {
    static func withTwoTenants(_ body: (Vault) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, tenants: ["alpha", "beta"]) { vault in
                _ = try await vault.append(AppendRequest(
                    tenant: "alpha", conversationID: "private", messages: [sampleMessage("alpha", 1), sampleMessage("alpha", 2)],
                    subjectID: "user-1", format: "alpha-format", metadata: bytes(#"{"owner":"alpha"}"#)))
                _ = try await vault.append(AppendRequest(
                    tenant: "alpha", conversationID: "shared-name", messages: [sampleMessage("alpha-shared", 1)], subjectID: "user-1"))
                try await body(vault)
            }
        }
    }

    @Test("reading another tenant's conversation id is notFound")
    func readIsNotFound() async throws {
        try await Self.withTwoTenants { (vault) async throws in
            #expect(throws: VaultError.notFound) { try vault.read(tenant: "beta", conversationID: "private") }
            #expect(throws: VaultError.notFound) { try vault.read(tenant: "beta", conversationID: "shared-name") }
            // The same answer as for an id nobody ever used.
            #expect(throws: VaultError.notFound) { try vault.read(tenant: "beta", conversationID: "never-used") }
            #expect(throws: VaultError.notFound) { try vault.read(tenant: "gamma", conversationID: "private") }
            #expect(try vault.read(tenant: "alpha", conversationID: "private").messages.count == 2)
        }
    }

    @Test("the same conversation id in two tenants names two separate conversations")
    func sameIDTwoConversations() async throws {
        try await Self.withTwoTenants { (vault) async throws in
            let result = try await vault.append(AppendRequest(
                tenant: "beta", conversationID: "shared-name", messages: [sampleMessage("beta", 1)], subjectID: "user-2"))
            #expect(result.firstSeq == 1, "beta's conversation continued alpha's sequence")
            #expect(try vault.read(tenant: "beta", conversationID: "shared-name").messages.map(\.message) == [sampleMessage("beta", 1)])
            #expect(try vault.read(tenant: "alpha", conversationID: "shared-name").messages.map(\.message) == [sampleMessage("alpha-shared", 1)])
        }
    }

    @Test("lists do not leak across tenants, by time or by subject")
    func listsDoNotLeak() async throws {
        try await Self.withTwoTenants { (vault) async throws in
            #expect(try vault.list(tenant: "beta", query: ListQuery()).conversations.isEmpty)
            #expect(try vault.list(tenant: "beta", query: ListQuery(subjectID: "user-1")).conversations.isEmpty)

            _ = try await vault.append(AppendRequest(
                tenant: "beta", conversationID: "b-1", messages: [sampleMessage("beta", 1)], subjectID: "user-1"))
            let byTime = try vault.list(tenant: "beta", query: ListQuery()).conversations
            #expect(byTime.map(\.conversationID) == ["b-1"])
            let bySubject = try vault.list(tenant: "beta", query: ListQuery(subjectID: "user-1")).conversations
            #expect(bySubject.map(\.conversationID) == ["b-1"])
            let alpha = try vault.list(tenant: "alpha", query: ListQuery(subjectID: "user-1")).conversations
            #expect(Set(alpha.map(\.conversationID)) == ["private", "shared-name"])
        }
    }

    @Test("another tenant's idempotency key is independent")
    func idempotencyKeysAreScoped() async throws {
        try await Self.withTwoTenants { (vault) async throws in
            let first = try await vault.append(AppendRequest(
                tenant: "alpha", conversationID: "x", messages: [bytes("{}")], idempotencyKey: "k-1"))
            // Different content under the same key in another tenant is not a conflict.
            let second = try await vault.append(AppendRequest(
                tenant: "beta", conversationID: "y", messages: [bytes(#"{"a":1}"#)], idempotencyKey: "k-1"))
            #expect(first.firstSeq == 1 && second.firstSeq == 1)
            #expect(try vault.read(tenant: "beta", conversationID: "y").messages.count == 1)
        }
    }

    @Test("an append to a tenant that does not exist is notFound and creates nothing")
    func appendToMissingTenant() async throws {
        try await Self.withTwoTenants { (vault) async throws in
            await #expect(throws: VaultError.notFound) {
                try await vault.append(AppendRequest(tenant: "gamma", conversationID: "private", messages: [bytes("{}")]))
            }
            #expect(try vault.tenants().map(\.name) == ["alpha", "beta"])
        }
    }
}
