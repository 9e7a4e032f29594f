import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptTestSupport

/// A client that does not read its answers holds at most about a page of them in the server:
/// the requests behind are not started until it reads, and other connections go on.
@Suite("Back-pressure by bytes")
struct BackPressureTests {
    /// A message of about `size` bytes.
    static func bigMessage(_ index: Int, size: Int) -> [UInt8] {
        bytes(#"{"n":\#(index),"pad":""# + String(repeating: "x", count: size) + #""}"#)
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
}
