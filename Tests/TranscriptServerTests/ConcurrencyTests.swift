import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
@testable import TranscriptVault
import TranscriptTestSupport

/// Pipelining on one connection and many clients at once.
@Suite("Pipelining and concurrent clients")
struct ConcurrencyTests {
    @Test("1,000 appends written in one go are answered in request order with seqs 1...1000")
    func pipelineOneWrite() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            var payload = requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10]
            for id in 1...1000 {
                let params = #"{"conversation_id":"pipe","messages":["# + String(decoding: sampleMessage("pipe", id), as: UTF8.self) + "]}"
                payload += requestLine(id: id, "conversation.append", params) + [10]
            }
            payload += requestLine(id: 1001, "conversation.read", #"{"conversation_id":"pipe","limit":1000}"#) + [10]
            // Write on one thread while reading on another: neither side may wait for the other.
            let requests = payload
            let writer = Task { try await offload { try socket.write(requests) } }
            let lines = try await offload { try socket.readLines(1002) }
            try await writer.value

            let responses = try lines.map { try RPCResponse.decode($0) }
            #expect(responses.map(\.id) == (0...1001).map { RPCID(Int64($0)) })
            _ = try responses[0].decodeResult(AuthResult.self)
            let appended = try responses[1...1000].map { try $0.decodeResult(AppendResult.self) }
            #expect(appended.map(\.firstSeq) == Array(1...1000))
            #expect(appended.allSatisfy { $0.firstSeq == $0.lastSeq && $0.conversationID == "pipe" })
            let read = try responses[1001].decodeResult(ReadResult.self)
            #expect(read.messages.map(\.seq) == Array(1...1000))
            #expect(read.messages.map(\.message) == (1...1000).map { sampleMessage("pipe", $0) })
            #expect(read.nextAfterSeq == nil)
        }
    }

    @Test("with one event loop, appends from many connections still share commits")
    func oneEventLoopBatches() async throws {
        // An event loop that committed each append in place (as it may for a lone client) would
        // leave the other connections' requests unread during the commit: one commit each.
        try await withServer(configure: { $0.threads = 1 }) { server in
            let token = try await server.token(tenants: ["acme"])
            var clients: [TranscriptClient] = []
            for _ in 0..<16 { clients.append(try await server.client(token: token)) }
            let before = server.vault.writer.batchCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (number, client) in clients.enumerated() {
                    group.addTask {
                        for index in 1...40 {
                            let result = try await client.append(AppendParams(
                                conversationID: "c\(number)", messages: [sampleMessage("c\(number)", index)]))
                            #expect(result.firstSeq == UInt64(index))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let commits = server.vault.writer.batchCount - before
            #expect(commits < 16 * 40, "every append committed alone")
            for client in clients { try await client.close() }
        }
    }

    @Test("1,000 concurrent appends on one client: each answer matches what was stored at its seq")
    func concurrentCallsOnOneClient() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let results = try await withThrowingTaskGroup(of: (Int, AppendResult).self) { group in
                for index in 1...1000 {
                    group.addTask {
                        (index, try await client.append(AppendParams(conversationID: "many", messages: [sampleMessage("many", index)])))
                    }
                }
                var results: [Int: AppendResult] = [:]
                for try await (index, result) in group { results[index] = result }
                return results
            }
            #expect(Set(results.values.map(\.firstSeq)) == Set(1...1000))
            let stored = try await client.readAll(conversation: "many")
            #expect(stored.map(\.seq) == Array(1...1000))
            for (index, result) in results {
                #expect(stored[Int(result.firstSeq) - 1].message == sampleMessage("many", index))
            }
            try await client.close()
        }
    }

    @Test("64 concurrent clients each append 20 messages and read them back")
    func sixtyFourClients() async throws {
        try await withServer(tenants: ["acme", "beta"]) { server in
            let token = try await server.token(tenants: ["acme", "beta"])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for clientIndex in 0..<64 {
                    group.addTask {
                        let tenant = clientIndex.isMultiple(of: 2) ? "acme" : "beta"
                        let conversation = "client-\(clientIndex)"
                        let client = try await server.client(token: token)
                        for index in 1...20 {
                            let result = try await client.append(AppendParams(
                                tenant: tenant, conversationID: conversation, messages: [sampleMessage(conversation, index)]))
                            #expect(result.firstSeq == UInt64(index))
                        }
                        let stored = try await client.readAll(tenant: tenant, conversation: conversation)
                        #expect(stored.map(\.seq) == Array(1...20))
                        #expect(stored.map(\.message) == (1...20).map { sampleMessage(conversation, $0) })
                        try await client.close()
                    }
                }
                try await group.waitForAll()
            }
            // Afterwards every conversation is listed once, in its own tenant, with 20 messages.
            let client = try await server.client(token: token)
            for tenant in ["acme", "beta"] {
                let listed = try await client.list(ListParams(tenant: tenant, limit: 1000)).conversations
                #expect(listed.count == 32)
                #expect(listed.allSatisfy { $0.messageCount == 20 })
                let expected = (0..<64).filter { $0.isMultiple(of: 2) == (tenant == "acme") }.map { "client-\($0)" }
                #expect(Set(listed.map(\.conversationID)) == Set(expected))
            }
            try await client.close()
        }
    }
}
