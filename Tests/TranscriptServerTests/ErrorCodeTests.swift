import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// Every error code of DESIGN §5 that a client can provoke, with its `data` members.
@Suite("Error codes over the socket")
struct ErrorCodeTests {
    @Test("-32001 for every method but system.info before auth")
    func unauthenticated() async throws {
        try await withServer { server in
            let client = try await server.connect()
            let calls: [(String, String)] = [
                ("conversation.read", #"{"conversation_id":"c"}"#),
                ("conversation.append", #"{"conversation_id":"c","messages":[{"a":1}]}"#),
                ("conversation.list", "{}"),
            ]
            for (index, (method, params)) in calls.enumerated() {
                let answer = try errorAnswer(try await client.sendRaw(requestLine(id: index, method, params)))
                #expect(answer.error.code == RPCError.Code.unauthenticated, "\(method)")
                #expect(answer.error.name == "tvault.Unauthenticated")
                #expect(answer.id == RPCID(Int64(index)))
            }
            // Nothing was appended by the refused call.
            let token = try await server.token(tenants: ["acme"])
            try await client.auth(token: token)
            let error = await serverError { _ = try await client.read(ReadParams(conversationID: "c")) }
            #expect(error?.code == RPCError.Code.notFound)
            try await client.close()
        }
    }

    @Test("-32003 for a method outside the token's scopes")
    func forbiddenScope() async throws {
        try await withServer { server in
            let writer = try await server.client(token: try await server.token(tenants: ["acme"], scopes: [.append]))
            _ = try await writer.append(AppendParams(conversationID: "c", messages: [sampleMessage("s", 1)]))
            let read = await serverError { _ = try await writer.read(ReadParams(conversationID: "c")) }
            #expect(read?.code == RPCError.Code.forbidden)
            #expect(read?.name == "tvault.Forbidden")
            let list = await serverError { _ = try await writer.list(ListParams()) }
            #expect(list?.code == RPCError.Code.forbidden)

            let reader = try await server.client(token: try await server.token(tenants: ["acme"], scopes: [.read]))
            let append = await serverError {
                _ = try await reader.append(AppendParams(conversationID: "c", messages: [sampleMessage("s", 2)]))
            }
            #expect(append?.code == RPCError.Code.forbidden)
            #expect(try await reader.read(ReadParams(conversationID: "c")).messages.map(\.message) == [sampleMessage("s", 1)])
            try await writer.close()
            try await reader.close()
        }
    }

    @Test("-32601 for unknown methods and for methods this server does not serve, authenticated or not")
    func methodNotFound() async throws {
        try await withServer { server in
            let client = try await server.connect()
            // Unknown names, admin methods, and protocol methods this server does not serve yet.
            let unserved = RPCMethod.allCases.filter { !Dispatcher.methods.contains($0) }.map(\.rawValue)
            // One character with 5,000 combining marks: a name cut to 64 characters stays 10 KB.
            let swollen = "m" + String(repeating: "\u{0301}", count: 5_000)
            let methods = ["conversation.nope", "", "AUTH", "system.info ", "conversation.read ", "tenant.create", "status",
                           "secret-\\u001b[31m-method", swollen] + unserved
            for authenticated in [false, true] {
                if authenticated { try await client.auth(token: try await server.token(tenants: ["acme"])) }
                for method in methods {
                    let answer = try errorAnswer(try await client.sendRaw(requestLine(id: 1, method, "{}")))
                    #expect(answer.error.code == RPCError.Code.methodNotFound, "\(method) authenticated: \(authenticated)")
                    #expect(answer.error.name == "tvault.MethodNotFound")
                    // The name a client sent is not echoed (it may be huge or hold terminal escapes).
                    #expect(answer.error.message == "method not found", "\(method.prefix(20)) authenticated: \(authenticated)")
                }
            }
            try await client.close()
        }
    }

    @Test("-32004 for a conversation that does not exist")
    func notFound() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let error = await serverError { _ = try await client.read(ReadParams(conversationID: "missing")) }
            #expect(error?.code == RPCError.Code.notFound)
            #expect(error?.name == "tvault.NotFound")
            #expect(error?.field == nil)
            try await client.close()
        }
    }

    @Test("-32004 for a tenant that does not exist, with a token for every tenant")
    func notFoundTenant() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: nil))
            for call in [
                { _ = try await client.read(ReadParams(tenant: "ghost", conversationID: "c")) },
                { _ = try await client.list(ListParams(tenant: "ghost")) },
                { _ = try await client.append(AppendParams(tenant: "ghost", conversationID: "c", messages: [bytes("{}")])) },
            ] as [@Sendable () async throws -> Void] {
                #expect(await serverError(call)?.code == RPCError.Code.notFound)
            }
            try await client.close()
        }
    }

    @Test("-32009 when an idempotency key is reused with other content; a true retry is answered again")
    func idempotencyConflict() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let request = AppendParams(conversationID: "c", messages: [sampleMessage("i", 1)], idempotencyKey: "k-1")
            let first = try await client.append(request)
            #expect(first == AppendResult(conversationID: "c", firstSeq: 1, lastSeq: 1))
            #expect(try await client.append(request) == first)

            for other in [
                AppendParams(conversationID: "c", messages: [sampleMessage("i", 2)], idempotencyKey: "k-1"),
                AppendParams(conversationID: "c", messages: [sampleMessage("i", 1), sampleMessage("i", 1)], idempotencyKey: "k-1"),
                AppendParams(conversationID: "c", messages: [sampleMessage("i", 1)], format: "x", idempotencyKey: "k-1"),
                AppendParams(conversationID: "c", messages: [sampleMessage("i", 1)], metadata: bytes("{}"), idempotencyKey: "k-1"),
            ] {
                let error = await serverError { _ = try await client.append(other) }
                #expect(error?.code == RPCError.Code.conflict)
                #expect(error?.name == "tvault.Conflict")
            }
            #expect(try await client.readAll(conversation: "c").map(\.message) == [sampleMessage("i", 1)])
            // Keys are scoped to their conversation: the same key elsewhere is another key.
            let other = try await client.append(AppendParams(conversationID: "other", messages: [sampleMessage("i", 9)], idempotencyKey: "k-1"))
            #expect(other == AppendResult(conversationID: "other", firstSeq: 1, lastSeq: 1))
            #expect(try await client.readAll(conversation: "c").count == 1)
            try await client.close()
        }
    }

    @Test("-32013 for too many messages, a message or metadata too large; nothing is stored")
    func tooLarge() async throws {
        try await withServer(configure: {
            $0.limits.messagesPerAppend = 10
            $0.limits.messageBytes = 1024
        }) { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("t", 0)]))

            let tooMany = (1...11).map { sampleMessage("t", $0) }
            let many = await serverError { _ = try await client.append(AppendParams(conversationID: "c", messages: tooMany)) }
            #expect(many?.code == RPCError.Code.tooLarge)
            #expect(many?.name == "tvault.TooLarge")
            #expect(many?.field == "messages")

            let big = bytes(#"{"content":""# + String(repeating: "x", count: 1024) + #""}"#)
            let large = await serverError {
                _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("t", 1), big]))
            }
            #expect(large?.code == RPCError.Code.tooLarge)
            #expect(large?.field == "messages")

            let fresh = await serverError { _ = try await client.append(AppendParams(conversationID: "new", messages: [big])) }
            #expect(fresh?.code == RPCError.Code.tooLarge)

            // Metadata is held to the message limit, and the answer names it.
            let bigMetadata = await serverError {
                _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("t", 1)], metadata: big))
            }
            #expect(bigMetadata?.code == RPCError.Code.tooLarge)
            #expect(bigMetadata?.field == "metadata")

            // At the limits exactly, both are accepted.
            let fits = bytes(#"{"c":""# + String(repeating: "y", count: 1024 - 8) + #""}"#)
            #expect(fits.count == 1024)
            let atLimit = try await client.append(AppendParams(conversationID: "c", messages: Array(repeating: fits, count: 10)))
            #expect(atLimit.firstSeq == 2 && atLimit.lastSeq == 11)

            let stored = try await client.readAll(conversation: "c")
            #expect(stored.first?.message == sampleMessage("t", 0))
            #expect(stored.count == 11)
            let missing = await serverError { _ = try await client.read(ReadParams(conversationID: "new")) }
            #expect(missing?.code == RPCError.Code.notFound)
            try await client.close()
        }
    }

    @Test("-32029 with data.retry_after_ms once a token's burst is spent; other tokens are not affected")
    func rateLimited() async throws {
        try await withServer(configure: {
            $0.limits.requestsPerSecond = 5
            $0.burst = 5
        }) { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            // Pipelined in one write, so that the bucket has no time to refill noticeably.
            var lines = requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10]
            for id in 1...12 {
                lines += requestLine(id: id, "conversation.list", "{}") + [10]
            }
            try socket.write(lines)
            let responses = try await offload { try socket.readLines(13) }
            var limited: [RPCError] = []
            for (index, line) in responses.enumerated().dropFirst() {
                let response = try RPCResponse.decode(line)
                #expect(response.id == RPCID(Int64(index)))
                if case .error(let error) = response.outcome {
                    #expect(error.code == RPCError.Code.rateLimited)
                    limited.append(error)
                }
                if index <= 5 { #expect(try response.decodeResult(ListResult.self).conversations.isEmpty) }
            }
            #expect(!limited.isEmpty)
            for error in limited {
                #expect(error.name == "tvault.RateLimited")
                let wait = try #require(error.retryAfterMs)
                #expect(wait > 0 && wait <= 200)
            }

            // Another token has its own bucket; system.info is not counted.
            let other = try await server.client(token: try await server.token(tenants: ["acme"]))
            #expect(try await other.list(ListParams()).conversations.isEmpty)
            let client = try await server.client(token: token)
            for _ in 0..<10 { _ = try await client.systemInfo() }
            // After the advertised wait the token is served again.
            try await Task.sleep(for: .milliseconds(Int(limited.last?.retryAfterMs ?? 200) + 50))
            #expect(try await client.list(ListParams()).conversations.isEmpty)
            try await other.close()
            try await client.close()
        }
    }

    @Test("-32050 tvault.Unavailable for a connection over the connection limit, then closed")
    func tooManyConnections() async throws {
        try await withServer(configure: { $0.limits.connections = 8 }) { server in
            var clients: [TranscriptClient] = []
            for _ in 0..<8 {
                let client = try await server.connect()
                _ = try await client.systemInfo()  // answered, so registered
                clients.append(client)
            }
            let refused = try RawSocket(path: server.socketPath)
            let line = try await offload { try refused.readLine(timeout: 5) }
            let answer = try errorAnswer(try #require(line))
            #expect(answer.error.code == RPCError.Code.unavailable)
            #expect(answer.error.name == "tvault.Unavailable")
            #expect(answer.id == RPCID.null)
            try await offload { try refused.waitForClose(timeout: 5) }

            // The connections already open are unaffected.
            for client in clients { _ = try await client.systemInfo() }

            // Once one closes, a new connection is served again.
            try await clients.removeLast().close()
            var served = false
            for _ in 0..<100 where !served {
                let probe = try RawSocket(path: server.socketPath)
                try probe.write(requestLine(id: 1, "system.info") + [10])
                let reply = try await offload { try probe.readLine(timeout: 5) }
                if let reply, case .result = try RPCResponse.decode(reply).outcome {
                    served = true
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(served)
            for client in clients { try await client.close() }
        }
    }

    // -32010 (tenant shredded) is tested with the shred methods (ShredMethodTests.tenantShredded).
    // -32603 (internal) has no trigger from a client by design; it is mapped in ErrorMapping.swift.
}
