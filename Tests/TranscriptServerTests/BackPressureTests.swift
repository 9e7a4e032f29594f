import Foundation
import NIOCore
import Testing
import TranscriptAPI
import TranscriptClient
@testable import TranscriptServer
import TranscriptTestSupport

/// A client that does not read its answers holds at most about a page of them in the server, or
/// `maxInFlight` short ones: the requests behind are not started until it reads, and other
/// connections go on.
@Suite("Back-pressure by bytes")
struct BackPressureTests {
    /// A message of about `size` bytes.
    static func bigMessage(_ index: Int, size: Int) -> [UInt8] {
        bytes(#"{"n":\#(index),"pad":""# + String(repeating: "x", count: size) + #""}"#)
    }

    /// The most answer bytes `channel` holds, not yet handed to the kernel, sampled for 2 s.
    static func mostBuffered(_ channel: any Channel) async throws -> Int {
        var most = 0
        for _ in 0..<40 {
            most = max(most, try await channel.getOption(.bufferedWritableBytes).get())
            try await Task.sleep(for: .milliseconds(50))
        }
        return most
    }

    @Test("pipelined reads behind an unread page of 2 MiB wait; other connections go on; every answer comes once read, in order")
    func unreadPagesHoldTheRest() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let writer = try await server.client(token: token)
            // 16 messages of 256 KiB: a page of 8 of them is 2 MiB; 8 pages are 16 MiB, far more
            // than the 4 MiB of answers a connection may owe before the server waits for it.
            let messages = (0..<16).map { Self.bigMessage($0, size: 256 << 10) }
            for chunk in stride(from: 0, to: messages.count, by: 4) {
                _ = try await writer.append(AppendParams(conversationID: "big", messages: Array(messages[chunk..<chunk + 4])))
            }

            // A client that asks for 8 pages of 2 MiB and an append after them, then reads nothing.
            let reader = try await server.authenticatedRawSocket(token: token)
            var pipeline: [UInt8] = []
            for id in 1...8 {
                pipeline += requestLine(id: id, "conversation.read", #"{"conversation_id":"big","limit":8}"#) + [10]
            }
            pipeline += requestLine(id: 9, "conversation.append", #"{"conversation_id":"marker","messages":[{"m":1}]}"#) + [10]
            try reader.write(pipeline)

            // The append waits behind the reads, which wait for the client: it has not run. (Run
            // without the back-pressure, the 8 reads take well under the wait here.)
            try await Task.sleep(for: .seconds(2))
            let missing = await serverError { _ = try await writer.read(ReadParams(conversationID: "marker")) }
            #expect(missing?.code == RPCError.Code.notFound, "the append behind the unread pages has run")
            // Another connection is served meanwhile.
            let other = try await writer.append(AppendParams(conversationID: "other", messages: [sampleMessage("o", 1)]))
            #expect(other.firstSeq == 1)

            // Once the client reads, every answer arrives, in order: 8 pages, then the append.
            let lines = try await offload { try reader.readLines(9, timeout: 120) }
            for (index, line) in lines.prefix(8).enumerated() {
                let response = try RPCResponse.decode(line)
                #expect(response.id == RPCID(Int64(index + 1)))
                let page = try response.decodeResult(ReadResult.self)
                #expect(page.messages.map(\.seq) == Array(1...8))
                #expect(page.messages.first?.message == messages[0])
                #expect(page.nextAfterSeq == 8)
            }
            let appended = try RPCResponse.decode(lines[8]).decodeResult(AppendResult.self)
            #expect(appended.firstSeq == 1)
            #expect(try await writer.readAll(conversation: "marker").count == 1)
            try await writer.close()
        }
    }

    @Test("a client flooding lines it knows are refused, reading nothing, has at most 256 answers held for it; all come once it reads")
    func refusedLinesDoNotPileUp() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let flooder = try await server.authenticatedRawSocket(token: token)
            let channels = server.server.registry.channels
            try #require(channels.count == 1)
            let channel = channels[0]

            // 20,000 lines that are not JSON: 40 KB sent, about 2 MB of answers owed, far more
            // than the socket buffers hold. Each line used to be answered as soon as the read
            // that brought it was split into lines, whether the client read or not.
            let count = 20_000
            try await offload { try flooder.write(Array(repeating: bytes("x\n"), count: count).flatMap { $0 }) }
            let most = try await Self.mostBuffered(channel)

            // Once read, every line has its answer, and the connection goes on.
            let lines = try await offload { try flooder.readLines(count, timeout: 120) }
            let answer = try errorAnswer(lines[0])
            #expect(answer.error.code == RPCError.Code.parseError)
            #expect(lines.allSatisfy { $0 == lines[0] }, "the answers differ")
            try flooder.write(requestLine(id: 7, "conversation.append", #"{"conversation_id":"after","messages":[{"m":1}]}"#) + [10])
            let appended = try await offload { try flooder.readLine() }
            #expect(try RPCResponse.decode(try #require(appended)).decodeResult(AppendResult.self).firstSeq == 1)

            // What waited in the server, beyond the socket buffers: answers, never more than
            // `maxInFlight` of them (the socket buffers full, some always wait).
            #expect(most > 0, "no answer ever waited in the server: the measure saw nothing")
            #expect(most <= ClientConnectionHandler.maxInFlight * (lines[0].count + 1),
                    "\(most) bytes of answers waited for a client that did not read")
        }
    }

    @Test("a connection that sent a line of 1 MiB keeps none of its bytes once it is answered")
    func longLineNotKept() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try await server.authenticatedRawSocket(token: token)
            let channel = try #require(server.server.registry.channels.first)
            let held = {
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self).unframedCapacity
                }.get()
            }
            // Half of it first: the line's start is held while the rest comes.
            let line = bytes(#"{"jsonrpc":"2.0","method":"system.info","id":""# + String(repeating: "i", count: 1 << 20) + #""}"#) + [10]
            try await offload { try socket.write(Array(line[..<(1 << 19)])) }
            var start = 0
            for _ in 0..<400 where start < 1 << 19 {
                start = try await held()
                if start < 1 << 19 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(start >= 1 << 19, "the start of the line is not held")
            try await offload { try socket.write(Array(line[(1 << 19)...])) }
            let answer = try await offload { try socket.readLine(timeout: 30) }
            _ = try RPCResponse.decode(try #require(answer)).decodeResult(SystemInfo.self)
            // Before, the 1 MiB of storage stayed with the idle connection until its next read.
            #expect(try await held() == 0)
        }
    }

    @Test("pipelined reads of 3 MiB pages for a client that reads nothing: at most 4 MiB and one more page wait in the server")
    func onePageBeyondTheMark() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            // 16 messages of 768 KiB: a page of 4 is 3 MiB.
            let messages = (0..<16).map { Self.bigMessage($0, size: 768 << 10) }
            let writer = try await server.client(token: token)
            for chunk in stride(from: 0, to: messages.count, by: 4) {
                _ = try await writer.append(AppendParams(conversationID: "big", messages: Array(messages[chunk..<chunk + 4])))
            }
            try await writer.close()
            #expect(try await eventually { server.server.registry.channels.isEmpty })

            let reader = try await server.authenticatedRawSocket(token: token)
            let channel = try #require(server.server.registry.channels.first)
            try reader.write((1...4).flatMap {
                requestLine(id: $0, "conversation.read", #"{"conversation_id":"big","after_seq":\#(($0 - 1) * 4),"limit":4}"#) + [10]
            })
            let most = try await Self.mostBuffered(channel)

            let lines = try await offload { try reader.readLines(4, timeout: 120) }
            for (index, line) in lines.enumerated() {
                let page = try RPCResponse.decode(line).decodeResult(ReadResult.self)
                #expect(page.messages.map(\.seq) == Array(UInt64(index * 4 + 1)...UInt64(index * 4 + 4)))
            }
            // A page is started only while the channel holds less than 4 MiB, counting the
            // answers of the same pass not yet handed to it: at most the mark and one page.
            // (Counted without them, a third page of 3 MiB was started: 9 MiB.)
            let page = lines.map(\.count).max() ?? 0
            #expect(most > 3 << 20, "the pages did not wait in the server: the measure saw nothing")
            #expect(most <= (4 << 20) + page + 1, "\(most) bytes of answers waited for a client that did not read")
        }
    }
}
