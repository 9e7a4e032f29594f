import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// Every method of the client socket, end to end, as a client sees it.
@Suite("Methods over the socket")
struct MethodTests {
    @Test("system.info answers without auth")
    func systemInfoWithoutAuth() async throws {
        try await withServer { server in
            let client = try await server.connect()
            let info = try await client.systemInfo()
            #expect(info.version == Dispatcher.version)
            #expect(info.protocolVersion == SystemInfo.protocolVersion)
            #expect(info.methods == Dispatcher.methods.map(\.rawValue))
            for method in ["auth", "system.info", "conversation.append", "conversation.read", "conversation.list"] {
                #expect(info.methods.contains(method))
            }
            // Empty params are no params; any member is refused (InvalidParamsTests).
            #expect(try resultObject(try await client.sendRaw(requestLine(id: 9, "system.info", "{}"))).id == RPCID(9))
            try await client.close()
        }
    }

    @Test("with a deeper JSON limit, the client reads back the deepest message the server takes")
    func deepMessagesRoundTrip() async throws {
        try await withServer(configure: { $0.limits.jsonDepth = 200 }) { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            // The request nests 3 levels around a message (object, params, messages).
            let levels = 197
            let deep = bytes(String(repeating: #"{"a":"#, count: levels) + "1" + String(repeating: "}", count: levels))
            _ = try await client.append(AppendParams(conversationID: "deep", messages: [deep]))
            #expect(try await client.read(ReadParams(conversationID: "deep")).messages.map(\.message) == [deep])
            try await client.close()
        }
    }

    @Test("auth reports the token's tenants and scopes and the server's limits")
    func authResult() async throws {
        try await withServer(tenants: ["acme", "beta"], configure: { $0.limits.messagesPerAppend = 77 }) { server in
            let one = try await server.connect()
            let result = try await one.auth(token: try await server.token(tenants: ["acme"], scopes: [.read, .append]))
            #expect(result.tenants == ["acme"])
            #expect(result.scopes == [.append, .read])
            #expect(result.limits == server.configuration.limits)
            #expect(result.limits.messagesPerAppend == 77)

            let all = try await server.connect()
            let everything = try await all.auth(token: try await server.token(tenants: nil, scopes: Set(TokenScope.allCases)))
            #expect(everything.tenants == nil)
            #expect(everything.scopes == RPCScope.allCases)
            try await one.close()
            try await all.close()
        }
    }

    @Test("a bad token is -32001 tvault.Unauthenticated, the same answer whatever is wrong with it")
    func badTokens() async throws {
        try await withServer { server in
            let good = try await server.vault.issueToken(tenants: ["acme"], scopes: [.read])
            let revoked = try await server.vault.issueToken(tenants: ["acme"], scopes: [.read])
            try await server.vault.revokeToken(id: revoked.id)
            var wrongSecret = good.token
            wrongSecret.replaceSubrange(wrongSecret.index(before: wrongSecret.endIndex)..., with: wrongSecret.hasSuffix("A") ? "B" : "A")
            let unknownID = "tvt_AAAAAAAAAAAA_" + String(good.token.suffix(64))
            let candidates = ["nope", "tvt_", unknownID, wrongSecret, revoked.token, good.token + "x"]

            let client = try await server.connect()
            var answers: Set<[UInt8]> = []
            for token in candidates {
                let line = try await client.sendRaw(requestLine(id: 7, "auth", #"{"token":"\#(token)"}"#))
                let answer = try errorAnswer(line)
                #expect(answer.error.code == RPCError.Code.unauthenticated, "token \(token.prefix(8))…")
                #expect(answer.error.name == "tvault.Unauthenticated")
                #expect(answer.id == RPCID(7))
                answers.insert(line)
            }
            #expect(answers.count == 1, "every bad token gets the same bytes back")
            // A failed auth leaves the connection unauthenticated.
            let error = await serverError { _ = try await client.read(ReadParams(conversationID: "c")) }
            #expect(error?.code == RPCError.Code.unauthenticated)
            // A good one still works on the same connection.
            #expect(try await client.auth(token: good.token).tenants == ["acme"])
            try await client.close()
        }
    }

    @Test("append, read and list round trip messages byte for byte")
    func roundTrip() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let first = bytes(#"{"z":1,"a":1.0,"content":"héllo \u00e9 — 😀","n":-0,"big":123456789012345678901234567890,"e":2.5E+10}"#)
            let second = bytes(#"{ "spaced" : [ 1 , 2 ] , "esc":"\"\\\/\b\f\n\r\t\u0000","tool_calls":[{"arguments":"{\"x\": 1}"}]}"#)
            let third = bytes(#"{"role":"assistant","content":[{"type":"text","text":"ok"}],"signature":"c2lnbmF0dXJl"}"#)
            let metadata = bytes(#"{"b":2,"a":1.50,"nested":{"k":[true,null]}}"#)
            let before = Int64(Date().timeIntervalSince1970 * 1000)

            let appended = try await client.append(AppendParams(
                conversationID: "conv-é-1", messages: [first, second], subjectID: "user-7",
                format: "openai.chat", metadata: metadata))
            #expect(appended == AppendResult(conversationID: "conv-é-1", firstSeq: 1, lastSeq: 2))
            let more = try await client.append(AppendParams(conversationID: "conv-é-1", messages: [third]))
            #expect(more == AppendResult(conversationID: "conv-é-1", firstSeq: 3, lastSeq: 3))

            let page = try await client.read(ReadParams(conversationID: "conv-é-1"))
            #expect(page.messages.map(\.seq) == [1, 2, 3])
            #expect(page.messages.map(\.message) == [first, second, third])
            #expect(page.nextAfterSeq == nil)
            let after = Int64(Date().timeIntervalSince1970 * 1000)
            for message in page.messages {
                #expect((before - 1000...after + 1000).contains(message.createdAtMs))
            }

            // The response line carries each message exactly as it was sent.
            let raw = try await client.call("conversation.read", params: ReadParams(conversationID: "conv-é-1"))
            for message in [first, second, third] {
                #expect(raw.line.firstRange(of: message) != nil)
            }

            // Paging.
            let middle = try await client.read(ReadParams(conversationID: "conv-é-1", afterSeq: 1, limit: 1))
            #expect(middle.messages.map(\.seq) == [2])
            #expect(middle.messages.first?.message == second)
            #expect(middle.nextAfterSeq == 2)
            let end = try await client.read(ReadParams(conversationID: "conv-é-1", afterSeq: 3))
            #expect(end.messages.isEmpty)
            #expect(end.nextAfterSeq == nil)

            // List.
            _ = try await client.append(AppendParams(conversationID: "conv-2", messages: [third], subjectID: "user-8"))
            let list = try await client.list(ListParams())
            #expect(list.conversations.count == 2)
            #expect(list.nextCursor == nil)
            let summary = try #require(list.conversations.first { $0.conversationID == "conv-é-1" })
            #expect(summary.subjectID == "user-7")
            #expect(summary.format == "openai.chat")
            #expect(summary.metadata == metadata)
            #expect(summary.messageCount == 3)
            #expect(summary.createdAtMs <= summary.updatedAtMs)
            let bySubject = try await client.list(ListParams(subjectID: "user-8"))
            #expect(bySubject.conversations.map(\.conversationID) == ["conv-2"])
            #expect(bySubject.conversations.first?.metadata == nil)
            #expect(try await client.list(ListParams(subjectID: "nobody")).conversations.isEmpty)
            try await client.close()
        }
    }

    @Test("list pages with a cursor until every conversation was seen once")
    func listPaging() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            for index in 0..<7 {
                _ = try await client.append(AppendParams(conversationID: "c\(index)", messages: [sampleMessage("p", index)]))
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await client.list(ListParams(limit: 3, cursor: cursor))
                #expect(page.conversations.count <= 3)
                seen += page.conversations.map(\.conversationID)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen.sorted() == (0..<7).map { "c\($0)" })
            #expect(pages == 3)
            try await client.close()
        }
    }

    @Test("a read on one connection sees the appends pipelined before it")
    func readAfterPipelinedAppend() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            let lines = [
                requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#),
                requestLine(id: 2, "conversation.append", #"{"conversation_id":"c","messages":[{"n":1},{"n":2}]}"#),
                requestLine(id: 3, "conversation.read", #"{"conversation_id":"c"}"#),
                requestLine(id: 4, "conversation.append", #"{"conversation_id":"c","messages":[{"n":3}]}"#),
                requestLine(id: 5, "conversation.list", "{}"),
            ]
            try socket.write(lines.flatMap { $0 + [UInt8(ascii: "\n")] })
            let responses = try await offload { try socket.readLines(lines.count) }
            let decoded = try responses.map { try RPCResponse.decode($0) }
            #expect(decoded.map(\.id) == (1...5).map { RPCID(Int64($0)) })
            // The read sees the appends sent before it. (It may also see the one sent after it:
            // that append is queued at once and may commit before the read runs; the protocol
            // promises only the earlier writes.)
            let read = try decoded[2].decodeResult(ReadResult.self)
            #expect(Array(read.messages.map(\.message).prefix(2)) == [bytes(#"{"n":1}"#), bytes(#"{"n":2}"#)])
            #expect(read.messages.map(\.seq) == Array(1...UInt64(read.messages.count)))
            let list = try decoded[4].decodeResult(ListResult.self)
            #expect(list.conversations.first?.messageCount == 3)
        }
    }

    @Test("a read waits for earlier appends even when answers known at once came between")
    func readAfterAppendAndInstantAnswers() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            var lines = [requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#)]
            for round in 0..<50 {
                let base = 1 + round * 5
                lines += [
                    requestLine(id: base, "conversation.append", #"{"conversation_id":"r\#(round)","messages":[{"round":\#(round)}]}"#),
                    requestLine(id: base + 1, "system.info"),
                    bytes("not json"),
                    requestLine(id: base + 3, "no.such.method"),
                    requestLine(id: base + 4, "conversation.read", #"{"conversation_id":"r\#(round)"}"#),
                ]
            }
            let payload: [UInt8] = lines.flatMap { $0 + [UInt8(ascii: "\n")] }
            let count = lines.count
            let writer = Task { try await offload { try socket.write(payload) } }
            let responses = try await offload { try socket.readLines(count) }
            try await writer.value
            var missed = 0
            for round in 0..<50 {
                let response = try RPCResponse.decode(responses[5 + round * 5])
                #expect(response.id == RPCID(Int64(5 + round * 5)))
                guard case .result = response.outcome else {
                    missed += 1
                    continue
                }
                #expect(try response.decodeResult(ReadResult.self).messages.map(\.message) == [bytes(#"{"round":\#(round)}"#)])
            }
            #expect(missed == 0, "\(missed) of 50 reads did not see the append sent just before them")
        }
    }

    @Test("a notification gets no response but is carried out")
    func notifications() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            try await client.sendBytes(requestLine(id: nil, "conversation.append", #"{"conversation_id":"n","messages":[{"quiet":true}]}"#) + [10])
            try await client.sendBytes(requestLine(id: nil, "no.such.method", "{}") + [10])
            try await client.sendBytes(requestLine(id: nil, "system.info") + [10])
            // The next response belongs to the next request: nothing was answered in between.
            let line = try await client.sendRaw(requestLine(id: 42, "conversation.read", #"{"conversation_id":"n"}"#))
            let response = try RPCResponse.decode(line)
            #expect(response.id == RPCID(42))
            #expect(try response.decodeResult(ReadResult.self).messages.map(\.message) == [bytes(#"{"quiet":true}"#)])
            try await client.close()
        }
    }

    @Test("string and huge numeric ids are echoed exactly")
    func idsEchoed() async throws {
        try await withServer { server in
            let client = try await server.connect()
            for id in [#""req-é-\u00e9""#, "123456789012345678901234567890", "1.50", "-0", "1e400", "null"] {
                let line = try await client.sendRaw(bytes(#"{"jsonrpc":"2.0","method":"system.info","id":\#(id)}"#))
                #expect(line.starts(with: bytes(#"{"jsonrpc":"2.0","id":\#(id),"result":"#)), "id \(id)")
            }
            try await client.close()
        }
    }
}
