import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptVault

/// -32602 with `data.field` for every kind of bad parameter.
@Suite("Invalid params over the socket")
struct InvalidParamsTests {
    /// A request whose params are wrong, and the field the answer must name.
    struct BadParams: Sendable, CustomTestStringConvertible {
        let method: String
        let params: String
        let field: String
        var testDescription: String { "\(method) \(params.prefix(60)) → \(field)" }
    }

    static let badParams: [BadParams] = [
        .init(method: "conversation.read", params: "{}", field: "conversation_id"),
        .init(method: "conversation.read", params: #"{"conversation_id":5}"#, field: "conversation_id"),
        .init(method: "conversation.read", params: #"{"conversation_id":""}"#, field: "conversation_id"),
        .init(method: "conversation.read", params: #"{"conversation_id":"\#(String(repeating: "x", count: 257))"}"#, field: "conversation_id"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","bogus":1}"#, field: "bogus"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","limit":0}"#, field: "limit"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","limit":1001}"#, field: "limit"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","limit":1.0}"#, field: "limit"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","limit":"10"}"#, field: "limit"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","limit":99999999999999999999999}"#, field: "limit"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","after_seq":-1}"#, field: "after_seq"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","after_seq":1e400}"#, field: "after_seq"),
        .init(method: "conversation.read", params: #"{"conversation_id":"c","tenant":"Not_A_Tenant"}"#, field: "tenant"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c"}"#, field: "messages"),
        .init(method: "conversation.append", params: #"{"messages":[{"a":1}]}"#, field: "conversation_id"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[]}"#, field: "messages"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[1]}"#, field: "messages"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[{"a":1},"x"]}"#, field: "messages"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":{"a":1}}"#, field: "messages"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[{"a":1}],"metadata":[1]}"#, field: "metadata"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[{"a":1}],"format":""}"#, field: "format"),
        .init(method: "conversation.append", params: #"{"conversation_id":"c","messages":[{"a":1}],"role":"user"}"#, field: "role"),
        .init(method: "conversation.list", params: #"{"limit":0}"#, field: "limit"),
        .init(method: "conversation.list", params: #"{"limit":1001}"#, field: "limit"),
        .init(method: "conversation.list", params: #"{"updated_after":"yesterday"}"#, field: "updated_after"),
        .init(method: "conversation.list", params: #"{"cursor":"not-a-cursor"}"#, field: "cursor"),
        .init(method: "conversation.list", params: #"{"cursor":""}"#, field: "cursor"),
        .init(method: "conversation.list", params: #"{"subject":"u"}"#, field: "subject"),
        .init(method: "conversation.list", params: "[]", field: "params"),
        .init(method: "system.info", params: #"{"x":1}"#, field: "x"),
        .init(method: "system.info", params: "[]", field: "params"),
        .init(method: "auth", params: "{}", field: "token"),
        .init(method: "auth", params: #"{"token":7}"#, field: "token"),
    ]

    @Test("-32602 names the offending field in data.field, and nothing is stored", arguments: badParams)
    func invalidParams(_ bad: BadParams) async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let client = try await server.client(token: token)
            let answer = try errorAnswer(try await client.sendRaw(requestLine(id: 3, bad.method, bad.params)))
            #expect(answer.error.code == RPCError.Code.invalidParams)
            #expect(answer.error.name == "tvault.InvalidParams")
            #expect(answer.error.field == bad.field)
            #expect(answer.id == RPCID(3))
            // The connection is still usable. (A refused auth, even a malformed one, leaves the
            // connection unauthenticated, as a wrong token does.)
            if bad.method == "auth" {
                let error = await serverError { _ = try await client.list(ListParams()) }
                #expect(error?.code == RPCError.Code.unauthenticated)
                try await client.auth(token: token)
            }
            #expect(try await client.list(ListParams()).conversations.isEmpty)
            try await client.close()
        }
    }

    @Test("-32602 names tenant when a token covering several tenants gets a request without one")
    func tenantRequiredForMultiTenantToken() async throws {
        try await withServer(tenants: ["a", "b"]) { server in
            for tenants in [["a", "b"], nil] as [[String]?] {
                let client = try await server.client(token: try await server.token(tenants: tenants))
                let error = await serverError { _ = try await client.read(ReadParams(conversationID: "c")) }
                #expect(error?.code == RPCError.Code.invalidParams)
                #expect(error?.field == "tenant")
                try await client.close()
            }
        }
    }
}
