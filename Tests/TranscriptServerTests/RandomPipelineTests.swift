import Foundation
import Testing
import TranscriptAPI
import TranscriptServer
import TranscriptTestSupport

/// A connection frames its own lines and stops between any two (behind a read, with answers
/// owed): whatever pieces a pipeline arrives in, every line gets its answer, in order, and each
/// read shows exactly the appends sent before it.
@Suite("Random pipelines in random pieces")
struct RandomPipelineTests {
    /// What a request is, and so what its answer must be.
    enum Kind {
        case append(seq: UInt64)
        case read(last: UInt64)
        case junk
        case info
    }

    @Test("appends, reads, refused lines and system.info, pipelined and cut at random, are answered in order", arguments: [1, 2, 3])
    func randomPipeline(seed: UInt64) async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try await server.authenticatedRawSocket(token: token)
            var random = SplitMix64(state: seed)
            let conversation = "random-\(seed)"

            var kinds: [Kind] = []
            var stream: [UInt8] = []
            var appended: UInt64 = 0
            for id in 1...1_500 {
                let line: [UInt8]
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<5:
                    appended += 1
                    kinds.append(.append(seq: appended))
                    line = requestLine(id: id, "conversation.append",
                                       #"{"conversation_id":"\#(conversation)","messages":[{"n":\#(appended)}]}"#)
                case 5..<7:
                    kinds.append(.read(last: appended))
                    line = requestLine(id: id, "conversation.read",
                                       #"{"conversation_id":"\#(conversation)","after_seq":\#(appended > 3 ? appended - 3 : 0),"limit":10}"#)
                case 7..<9:
                    kinds.append(.junk)
                    line = bytes("not json \(id)")
                default:
                    kinds.append(.info)
                    line = requestLine(id: id, "system.info")
                }
                stream += line + (Bool.random(using: &random) ? [13, 10] : [10])
            }
            var pieces: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let size = min(stream.count - offset, Int.random(in: 1...3000, using: &random))
                pieces.append(Array(stream[offset..<offset + size]))
                offset += size
            }
            let toSend = pieces
            let writer = Task {
                try await offload {
                    for (index, piece) in toSend.enumerated() {
                        try socket.write(piece)
                        if index % 50 == 0 { usleep(1_000) }
                    }
                }
            }
            let count = kinds.count
            let lines = try await offload { try socket.readLines(count, timeout: 60) }
            try await writer.value

            for (index, (line, kind)) in zip(lines, kinds).enumerated() {
                let response = try RPCResponse.decode(line)
                switch kind {
                case .junk:
                    #expect(response.id == .null, "line \(index + 1)")
                    #expect(try errorAnswer(line).error.code == RPCError.Code.parseError, "line \(index + 1)")
                    continue
                default:
                    #expect(response.id == RPCID(Int64(index + 1)), "line \(index + 1)")
                }
                switch kind {
                case .append(let seq):
                    #expect(try response.decodeResult(AppendResult.self).firstSeq == seq, "line \(index + 1)")
                case .read(let last) where last == 0:
                    #expect(try errorAnswer(line).error.code == RPCError.Code.notFound, "line \(index + 1)")
                case .read(let last):
                    let page = try response.decodeResult(ReadResult.self)
                    #expect(page.messages.last?.seq == last, "line \(index + 1): a read saw a later append, or missed an earlier one")
                    #expect(page.messages.last?.message == bytes(#"{"n":\#(last)}"#), "line \(index + 1)")
                case .info:
                    _ = try response.decodeResult(SystemInfo.self)
                case .junk:
                    break
                }
            }
        }
    }
}
