import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptVault

/// Which token may touch which tenant, and that "not yours" reads exactly like "does not exist".
@Suite("Tenant isolation over the socket")
struct TenantIsolationTests {
    static let tenants = ["a", "b", "c"]
    static let tokens: [(name: String, tenants: [String]?)] = [("a", ["a"]), ("b", ["b"]), ("ab", ["a", "b"]), ("all", nil)]

    static func covers(_ token: (name: String, tenants: [String]?), _ tenant: String) -> Bool {
        token.tenants?.contains(tenant) ?? true
    }

    @Test("every (token, tenant) pair: append, read and list are allowed exactly when the token covers the tenant")
    func matrix() async throws {
        try await withServer(tenants: Self.tenants) { server in
            var clients: [String: TranscriptClient] = [:]
            for token in Self.tokens {
                clients[token.name] = try await server.client(token: try await server.token(tenants: token.tenants))
            }
            for token in Self.tokens {
                let client = try #require(clients[token.name])
                for tenant in Self.tenants {
                    let conversation = "m-\(token.name)"
                    let message = sampleMessage(token.name, Self.tenants.firstIndex(of: tenant)!)
                    let covered = Self.covers(token, tenant)
                    let pair = "token \(token.name), tenant \(tenant)"

                    let append = await serverError {
                        _ = try await client.append(AppendParams(tenant: tenant, conversationID: conversation, messages: [message]))
                    }
                    let read = await serverError {
                        let page = try await client.read(ReadParams(tenant: tenant, conversationID: conversation))
                        #expect(page.messages.map(\.message) == [message], "\(pair)")
                    }
                    let list = await serverError {
                        let page = try await client.list(ListParams(tenant: tenant))
                        #expect(page.conversations.contains { $0.conversationID == conversation }, "\(pair)")
                    }
                    for (what, error) in [("append", append), ("read", read), ("list", list)] {
                        if covered {
                            #expect(error == nil, "\(what), \(pair)")
                        } else {
                            #expect(error?.code == RPCError.Code.forbidden, "\(what), \(pair)")
                            #expect(error?.name == "tvault.Forbidden")
                        }
                    }
                }
            }
            // Each tenant holds exactly the conversations of the tokens that cover it.
            let all = try #require(clients["all"])
            for tenant in Self.tenants {
                let listed = try await all.list(ListParams(tenant: tenant)).conversations.map(\.conversationID)
                let expected = Self.tokens.filter { Self.covers($0, tenant) }.map { "m-\($0.name)" }
                #expect(Set(listed) == Set(expected), "tenant \(tenant)")
            }
            for client in clients.values { try await client.close() }
        }
    }

    @Test("a single-tenant token needs no tenant param and reaches only its tenant")
    func implicitTenant() async throws {
        try await withServer(tenants: Self.tenants) { server in
            let onlyB = try await server.client(token: try await server.token(tenants: ["b"]))
            _ = try await onlyB.append(AppendParams(conversationID: "implicit", messages: [sampleMessage("b", 1)]))
            let all = try await server.client(token: try await server.token(tenants: nil))
            #expect(try await all.readAll(tenant: "b", conversation: "implicit").map(\.message) == [sampleMessage("b", 1)])
            for tenant in ["a", "c"] {
                let error = await serverError { _ = try await all.read(ReadParams(tenant: tenant, conversationID: "implicit")) }
                #expect(error?.code == RPCError.Code.notFound)
            }
            try await onlyB.close()
            try await all.close()
        }
    }

    @Test("the same conversation id in two tenants names two separate conversations")
    func sameIDTwoTenants() async throws {
        try await withServer(tenants: Self.tenants) { server in
            let client = try await server.client(token: try await server.token(tenants: nil))
            for tenant in Self.tenants {
                let result = try await client.append(AppendParams(tenant: tenant, conversationID: "shared", messages: [sampleMessage(tenant, 1)]))
                #expect(result.firstSeq == 1)
            }
            for tenant in Self.tenants {
                #expect(try await client.readAll(tenant: tenant, conversation: "shared").map(\.message) == [sampleMessage(tenant, 1)])
            }
            try await client.close()
        }
    }

    @Test("another tenant's conversation reads exactly like a missing one, byte for byte")
    func crossTenantLooksMissing() async throws {
        try await withServer(tenants: Self.tenants) { server in
            let seeder = try await server.client(token: try await server.token(tenants: nil))
            _ = try await seeder.append(AppendParams(tenant: "b", conversationID: "secret-b", messages: [sampleMessage("b", 1)], subjectID: "subject-b"))
            _ = try await seeder.append(AppendParams(tenant: "a", conversationID: "own-a", messages: [sampleMessage("a", 1)]))

            for tokenTenants in [["a"], ["a", "b"]] {
                let client = try await server.client(token: try await server.token(tenants: tokenTenants))
                let foreign = try await client.sendRaw(requestLine(id: 5, "conversation.read", #"{"tenant":"a","conversation_id":"secret-b"}"#))
                let missing = try await client.sendRaw(requestLine(id: 5, "conversation.read", #"{"tenant":"a","conversation_id":"never-existed"}"#))
                #expect(try errorAnswer(foreign).error.code == RPCError.Code.notFound)
                #expect(foreign == missing)
                // The same for the list of a subject that only exists in the other tenant.
                let foreignSubject = try await client.sendRaw(requestLine(id: 6, "conversation.list", #"{"tenant":"a","subject_id":"subject-b"}"#))
                let missingSubject = try await client.sendRaw(requestLine(id: 6, "conversation.list", #"{"tenant":"a","subject_id":"nobody"}"#))
                #expect(foreignSubject == missingSubject)
                #expect(try resultObject(foreignSubject).result["conversations"]?.arrayValue?.isEmpty == true)
                try await client.close()
            }
        }
    }

    @Test("a tenant outside the token is -32003 whether it exists, holds the conversation, or does not exist at all")
    func uncoveredTenantsIndistinguishable() async throws {
        try await withServer(tenants: Self.tenants) { server in
            let seeder = try await server.client(token: try await server.token(tenants: nil))
            _ = try await seeder.append(AppendParams(tenant: "b", conversationID: "secret-b", messages: [sampleMessage("b", 1)]))
            let client = try await server.client(token: try await server.token(tenants: ["a"]))
            for (method, params) in [
                ("conversation.read", #"{"tenant":"TENANT","conversation_id":"secret-b"}"#),
                ("conversation.append", #"{"tenant":"TENANT","conversation_id":"secret-b","messages":[{"x":1}]}"#),
                ("conversation.list", #"{"tenant":"TENANT"}"#),
            ] {
                var answers: Set<[UInt8]> = []
                for tenant in ["b", "c", "zz-not-a-tenant"] {
                    let line = try await client.sendRaw(requestLine(id: 8, method, params.replacingOccurrences(of: "TENANT", with: tenant)))
                    #expect(try errorAnswer(line).error.code == RPCError.Code.forbidden, "\(method) in \(tenant)")
                    answers.insert(line)
                }
                #expect(answers.count == 1, "\(method): the answers differ")
            }
            // Nothing reached tenant b.
            #expect(try await seeder.readAll(tenant: "b", conversation: "secret-b").map(\.message) == [sampleMessage("b", 1)])
            try await seeder.close()
            try await client.close()
        }
    }
}
