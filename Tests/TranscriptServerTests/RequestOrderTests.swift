import Testing
import TranscriptTestSupport
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault

/// Pipelined requests take effect in request order, not only answer in it: an append sent after
/// a delete, an erase or a read is not carried out before it.
@Suite("Requests on one connection take effect in request order")
struct RequestOrderTests {
    @Test("a delete pipelined between two appends takes the first and leaves the second, which stays readable")
    func deleteBetweenAppends() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"], scopes: Set(TokenScope.allCases))
            let lines = try await pipeline(server, token: token, [
                requestLine(id: 1, "conversation.append", #"{"conversation_id":"p-1","messages":[{"v":"before"}]}"#),
                requestLine(id: 2, "conversation.delete", #"{"conversation_id":"p-1"}"#),
                requestLine(id: 3, "conversation.append", #"{"conversation_id":"p-1","messages":[{"v":"after"}]}"#),
                requestLine(id: 4, "conversation.read", #"{"conversation_id":"p-1"}"#),
            ])
            let responses = try lines.map { try RPCResponse.decode($0) }
            #expect(responses.map(\.id) == (1...4).map { RPCID(Int64($0)) })
            #expect(try responses[0].decodeResult(AppendResult.self).firstSeq == 1)
            #expect(try responses[1].decodeResult(ReceiptResult.self).receipt.target == .conversation)
            // Appended after the delete: the first message of a new conversation.
            let after = try responses[2].decodeResult(AppendResult.self)
            #expect(after.firstSeq == 1 && after.lastSeq == 1)
            let read = try responses[3].decodeResult(ReadResult.self)
            #expect(read.messages.map(\.message) == [bytes(#"{"v":"after"}"#)])

            // Still there for another connection, once the erasure has run too.
            try await server.vault.runErasureEpoch()
            let client = try await server.client(token: token)
            #expect(try await client.readAll(conversation: "p-1").map(\.message) == [bytes(#"{"v":"after"}"#)])
            try await client.close()
        }
    }

    @Test("an erase pipelined between two appends of its subject counts and takes only the first")
    func eraseBetweenAppends() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"], scopes: Set(TokenScope.allCases))
            let lines = try await pipeline(server, token: token, [
                requestLine(id: 1, "conversation.append", #"{"conversation_id":"e-1","subject_id":"se","messages":[{"v":1}]}"#),
                requestLine(id: 2, "subject.erase", #"{"subject_id":"se"}"#),
                requestLine(id: 3, "conversation.append", #"{"conversation_id":"e-2","subject_id":"se","messages":[{"v":2}]}"#),
                requestLine(id: 4, "conversation.read", #"{"conversation_id":"e-2"}"#),
                requestLine(id: 5, "conversation.read", #"{"conversation_id":"e-1"}"#),
            ])
            let responses = try lines.map { try RPCResponse.decode($0) }
            #expect(responses.map(\.id) == (1...5).map { RPCID(Int64($0)) })
            #expect(try responses[1].decodeResult(EraseResult.self).conversations == 1)
            #expect(try responses[2].decodeResult(AppendResult.self).firstSeq == 1)
            #expect(try responses[3].decodeResult(ReadResult.self).messages.map(\.message) == [bytes(#"{"v":2}"#)])
            #expect(try errorAnswer(lines[4]).error.code == RPCError.Code.notFound)

            try await server.vault.runErasureEpoch()
            let client = try await server.client(token: token)
            #expect(try await client.readAll(conversation: "e-2").map(\.message) == [bytes(#"{"v":2}"#)])
            #expect(try await client.list(ListParams(subjectID: "se")).conversations.map(\.conversationID) == ["e-2"])
            try await client.close()
        }
    }

    @Test("each of 100 reads pipelined between appends sees exactly the appends sent before it")
    func readsSeeOnlyEarlierAppends() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            var requests: [[UInt8]] = []
            for index in 1...100 {
                let message = String(decoding: sampleMessage("r", index), as: UTF8.self)
                requests.append(requestLine(id: 2 * index - 1, "conversation.append", #"{"conversation_id":"r","messages":[\#(message)]}"#))
                requests.append(requestLine(id: 2 * index, "conversation.read", #"{"conversation_id":"r","limit":1000}"#))
            }
            let responses = try await pipeline(server, token: token, requests).map { try RPCResponse.decode($0) }
            #expect(responses.map(\.id) == (1...200).map { RPCID(Int64($0)) })
            for index in 1...100 {
                #expect(try responses[2 * index - 2].decodeResult(AppendResult.self).firstSeq == UInt64(index))
                let read = try responses[2 * index - 1].decodeResult(ReadResult.self)
                #expect(read.messages.map(\.seq) == Array(1...UInt64(index)), "read \(index)")
            }
        }
    }

    @Test("lines held behind a delete keep their order with auth: an append after a re-auth uses the new token")
    func heldLinesFollowAuth() async throws {
        try await withServer(tenants: ["acme", "beta"]) { server in
            let acme = try await server.token(tenants: ["acme"], scopes: Set(TokenScope.allCases))
            let beta = try await server.token(tenants: ["beta"], scopes: [.append, .read])
            _ = try await server.vault.append(TranscriptVault.AppendRequest(tenant: "acme", conversationID: "d", messages: [sampleMessage("d", 1)]))
            let lines = try await pipeline(server, token: acme, [
                requestLine(id: 1, "conversation.delete", #"{"conversation_id":"d"}"#),
                requestLine(id: 2, "auth", #"{"token":"\#(beta)"}"#),
                requestLine(id: 3, "conversation.append", #"{"conversation_id":"b","messages":[{"t":"beta"}]}"#),
                Array("{not json".utf8),
                requestLine(id: 5, "conversation.read", #"{"conversation_id":"b"}"#),
            ])
            #expect(try RPCResponse.decode(lines[0]).decodeResult(ReceiptResult.self).receipt.target == .conversation)
            #expect(try RPCResponse.decode(lines[1]).decodeResult(AuthResult.self).tenants == ["beta"])
            #expect(try RPCResponse.decode(lines[2]).decodeResult(AppendResult.self).firstSeq == 1)
            #expect(try errorAnswer(lines[3]).error.code == RPCError.Code.parseError)
            #expect(try RPCResponse.decode(lines[4]).decodeResult(ReadResult.self).messages.map(\.message) == [bytes(#"{"t":"beta"}"#)])
            #expect(try server.vault.read(tenant: "beta", conversationID: "b").messages.count == 1)
            #expect(throws: VaultError.self) { try server.vault.read(tenant: "acme", conversationID: "b") }
        }
    }

    /// Authenticates a new connection with `token`, writes `requests` in one go and returns
    /// their answers.
    private func pipeline(_ server: TestServer, token: String, _ requests: [[UInt8]]) async throws -> [[UInt8]] {
        let socket = try await server.authenticatedRawSocket(token: token)
        let payload: [UInt8] = requests.flatMap { $0 + [10] }
        try await offload { try socket.write(payload) }
        return try await offload { try socket.readLines(requests.count) }
    }
}
