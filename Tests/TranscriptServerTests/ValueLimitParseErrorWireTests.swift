import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer

/// A line over the server's value limit (65,536 values outside messages and metadata) that is
/// not strict JSON gets -32700 like any other such line (Docs/protocol.md, "Strict JSON"); only
/// a valid one gets -32013.
@Suite("A line over the value limit that is not strict JSON is a parse error on the wire")
struct ValueLimitParseErrorWireTests {
    static func zerosAppend(_ count: Int, after: String) -> [UInt8] {
        bytes(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[0"#)
            + bytes(String(repeating: ",0", count: count - 1)) + bytes(after)
    }

    @Test("trailing comma, invalid UTF-8 and a duplicate envelope key after 70,000 values")
    func parseErrorsWin() async throws {
        let lines: [(String, [UInt8], Int)] = [
            ("trailing comma", Self.zerosAppend(70_000, after: #",]},"id":1}"#), RPCError.Code.parseError),
            ("invalid UTF-8", Self.zerosAppend(70_000, after: #"],"x":""#) + [0xFF] + bytes(#""},"id":1}"#), RPCError.Code.parseError),
            ("duplicate envelope key", Self.zerosAppend(70_000, after: #"]},"id":1,"id":2}"#), RPCError.Code.parseError),
            ("valid, too many values", Self.zerosAppend(70_000, after: #"]},"id":1}"#), RPCError.Code.tooLarge),
        ]
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            for (name, line, code) in lines {
                let answer = try errorAnswer(try await client.sendRaw(line))
                #expect(answer.error.code == code, "\(name)")
                #expect(answer.id == .null, "\(name)")
            }
            #expect(try await client.list(ListParams()).conversations.isEmpty)
            try await client.close()
        }
    }
}
