import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault

/// The JSON edge cases of DESIGN §5 ("Strict JSON"), sent as raw lines over the socket.
@Suite("Strict JSON on the wire")
struct StrictJSONWireTests {
    /// One line and what the server must answer.
    struct Case: Sendable, CustomTestStringConvertible {
        enum Expected: Sendable {
            /// An error with `code`, echoing the id whose JSON text is `id`.
            case error(Int, id: String)
            /// A success (an append of the line's messages, which must read back verbatim).
            case accepted
        }

        let name: String
        let line: [UInt8]
        let expected: Expected
        var testDescription: String { name }
    }

    static let parse = RPCError.Code.parseError
    static let invalid = RPCError.Code.invalidRequest

    /// An append line whose single message is `message`, spliced in as bytes.
    static func append(_ message: [UInt8], id: Int = 1) -> [UInt8] {
        bytes(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":["#)
            + message + bytes(#"]},"id":\#(id)}"#)
    }

    /// A message object holding arrays nested so that the whole request is `depth` deep.
    static func nestedMessage(totalDepth depth: Int) -> [UInt8] {
        // envelope { → params { → messages [ → message { are 4 levels.
        let arrays = depth - 4
        return bytes(#"{"x":"#) + Array(repeating: UInt8(ascii: "["), count: arrays)
            + Array(repeating: UInt8(ascii: "]"), count: arrays) + bytes("}")
    }

    static let systemInfo = #"{"jsonrpc":"2.0","method":"system.info","id":1}"#

    static let cases: [Case] = [
        .init(name: "duplicate envelope key", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","method":"system.info","id":1}"#), expected: .error(parse, id: "null")),
        .init(name: "duplicate id", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","id":1,"id":2}"#), expected: .error(parse, id: "null")),
        .init(name: "duplicate key in params", line: bytes(#"{"jsonrpc":"2.0","method":"conversation.read","params":{"conversation_id":"a","conversation_id":"b"},"id":1}"#), expected: .error(parse, id: "null")),
        .init(name: "duplicate key in a message", line: append(bytes(#"{"role":"user","role":"assistant"}"#)), expected: .error(parse, id: "null")),
        .init(name: "duplicate key, equal after escapes", line: append(bytes(#"{"a":1,"\u0061":2}"#)), expected: .error(parse, id: "null")),
        .init(name: "trailing comma in the envelope", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","id":1,}"#), expected: .error(parse, id: "null")),
        .init(name: "trailing comma in messages", line: bytes(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[{"a":1},]},"id":1}"#), expected: .error(parse, id: "null")),
        .init(name: "nesting 64 deep is accepted", line: append(nestedMessage(totalDepth: 64)), expected: .accepted),
        .init(name: "nesting 65 deep inside a message", line: append(nestedMessage(totalDepth: 65)), expected: .error(parse, id: "null")),
        .init(name: "nesting 65 deep inside params", line: bytes(#"{"jsonrpc":"2.0","method":"conversation.list","params":{"deep":"#) + Array(repeating: UInt8(ascii: "["), count: 63) + Array(repeating: UInt8(ascii: "]"), count: 63) + bytes(#"},"id":1}"#), expected: .error(parse, id: "null")),
        .init(name: "nesting 50,000 deep", line: Array(repeating: UInt8(ascii: "["), count: 50_000), expected: .error(parse, id: "null")),
        .init(name: "invalid UTF-8 byte 0xFF", line: append(bytes(#"{"a":""#) + [0xFF] + bytes(#""}"#)), expected: .error(parse, id: "null")),
        .init(name: "overlong UTF-8 encoding of /", line: append(bytes(#"{"a":""#) + [0xC0, 0xAF] + bytes(#""}"#)), expected: .error(parse, id: "null")),
        .init(name: "UTF-8-encoded surrogate", line: append(bytes(#"{"a":""#) + [0xED, 0xA0, 0x80] + bytes(#""}"#)), expected: .error(parse, id: "null")),
        .init(name: "truncated UTF-8 sequence", line: append(bytes(#"{"a":""#) + [0xE2, 0x82] + bytes(#""}"#)), expected: .error(parse, id: "null")),
        .init(name: "code point above U+10FFFF", line: append(bytes(#"{"a":""#) + [0xF4, 0x90, 0x80, 0x80] + bytes(#""}"#)), expected: .error(parse, id: "null")),
        .init(name: "invalid UTF-8 in a key", line: append(bytes(#"{""#) + [0xFE] + bytes(#"":1}"#)), expected: .error(parse, id: "null")),
        .init(name: "lone high surrogate escape", line: append(bytes(#"{"a":"\ud800"}"#)), expected: .error(parse, id: "null")),
        .init(name: "lone low surrogate escape", line: append(bytes(#"{"a":"\udc00"}"#)), expected: .error(parse, id: "null")),
        .init(name: "high surrogate escape before a non-surrogate", line: append(bytes(#"{"a":"\ud800\u0041"}"#)), expected: .error(parse, id: "null")),
        .init(name: "surrogate pair escape is accepted", line: append(bytes(#"{"a":"\ud83d\ude00"}"#)), expected: .accepted),
        .init(name: "escaped NUL is accepted", line: append(bytes(#"{"a":"\u0000"}"#)), expected: .accepted),
        .init(name: "huge numbers in a message are accepted", line: append(bytes(#"{"n":123456789012345678901234567890e999,"m":-0.0000000000000000000001}"#)), expected: .accepted),
        .init(name: "byte order mark before the request", line: [0xEF, 0xBB, 0xBF] + bytes(systemInfo), expected: .error(parse, id: "null")),
        .init(name: "raw NUL inside a string", line: append(bytes(#"{"a":"x"#) + [0x00] + bytes(#"y"}"#)), expected: .error(parse, id: "null")),
        .init(name: "raw NUL after the request", line: bytes(systemInfo) + [0x00], expected: .error(parse, id: "null")),
        .init(name: "raw NUL before the request", line: [0x00] + bytes(systemInfo), expected: .error(parse, id: "null")),
        .init(name: "raw tab inside a string", line: append(bytes(#"{"a":"x"#) + [0x09] + bytes(#"y"}"#)), expected: .error(parse, id: "null")),
        .init(name: "NaN", line: append(bytes(#"{"a":NaN}"#)), expected: .error(parse, id: "null")),
        .init(name: "Infinity", line: append(bytes(#"{"a":Infinity}"#)), expected: .error(parse, id: "null")),
        .init(name: "leading zero", line: append(bytes(#"{"a":01}"#)), expected: .error(parse, id: "null")),
        .init(name: "plus sign", line: append(bytes(#"{"a":+1}"#)), expected: .error(parse, id: "null")),
        .init(name: "single quotes", line: bytes("{'jsonrpc':'2.0','method':'system.info','id':1}"), expected: .error(parse, id: "null")),
        .init(name: "comment", line: bytes(#"{"jsonrpc":"2.0",/* c */"method":"system.info","id":1}"#), expected: .error(parse, id: "null")),
        .init(name: "two values on one line", line: bytes(systemInfo + systemInfo), expected: .error(parse, id: "null")),
        .init(name: "truncated request", line: bytes(#"{"jsonrpc":"2.0","method":"system.info""#), expected: .error(parse, id: "null")),
        .init(name: "empty line", line: [], expected: .error(parse, id: "null")),
        .init(name: "whitespace only", line: bytes(" \t "), expected: .error(parse, id: "null")),
        .init(name: "empty batch", line: bytes("[]"), expected: .error(invalid, id: "null")),
        .init(name: "batch of one request", line: bytes("[" + systemInfo + "]"), expected: .error(invalid, id: "null")),
        .init(name: "a string", line: bytes(#""system.info""#), expected: .error(invalid, id: "null")),
        .init(name: "a number", line: bytes("1"), expected: .error(invalid, id: "null")),
        .init(name: "null", line: bytes("null"), expected: .error(invalid, id: "null")),
        .init(name: "jsonrpc 1.0", line: bytes(#"{"jsonrpc":"1.0","method":"system.info","id":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "jsonrpc as a number", line: bytes(#"{"jsonrpc":2.0,"method":"system.info","id":"x"}"#), expected: .error(invalid, id: #""x""#)),
        .init(name: "no jsonrpc", line: bytes(#"{"method":"system.info","id":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "method not a string", line: bytes(#"{"jsonrpc":"2.0","method":5,"id":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "no method", line: bytes(#"{"jsonrpc":"2.0","id":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "id an object", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","id":{}}"#), expected: .error(invalid, id: "null")),
        .init(name: "id a boolean", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","id":true}"#), expected: .error(invalid, id: "null")),
        .init(name: "params a string", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","params":"x","id":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "unknown envelope member", line: bytes(#"{"jsonrpc":"2.0","method":"system.info","id":1,"extra":1}"#), expected: .error(invalid, id: "1")),
        .init(name: "huge numeric id is echoed", line: bytes(#"{"jsonrpc":"2.0","method":"nope","id":123456789012345678901234567890}"#), expected: .error(RPCError.Code.methodNotFound, id: "123456789012345678901234567890")),
        .init(name: "nested content in a message is kept verbatim", line: append(bytes(#"{"role":"user","content":[{"type":"text","text":"a\u00e9\n"},{"n":[1,2.50,{"x":null}]}]}"#)), expected: .accepted),
        .init(name: "70,000 values where the messages go", line: append(bytes("0" + String(repeating: ",0", count: 69_999))), expected: .error(RPCError.Code.tooLarge, id: "null")),
        .init(name: "1,500 messages, within the value limit", line: append(bytes("{}" + String(repeating: ",{}", count: 1_499))), expected: .error(RPCError.Code.tooLarge, id: "1")),
        .init(name: "huge limit", line: bytes(#"{"jsonrpc":"2.0","method":"conversation.read","params":{"conversation_id":"c","limit":1e999},"id":1}"#), expected: .error(RPCError.Code.invalidParams, id: "1")),
    ]

    @Test("each edge case gets its documented answer and the connection stays usable", arguments: cases)
    func edgeCase(_ edge: Case) async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let line = try await client.sendRaw(edge.line)
            switch edge.expected {
            case .error(let code, let id):
                let answer = try errorAnswer(line)
                #expect(answer.error.code == code)
                #expect(answer.id.json == bytes(id))
                #expect(!answer.error.name.isEmpty)
                // A rejected line stores nothing.
                #expect(try await client.list(ListParams()).conversations.isEmpty)
            case .accepted:
                let response = try RPCResponse.decode(line)
                let appended = try response.decodeResult(AppendResult.self)
                #expect(appended.firstSeq == 1)
                let root = try StrictJSON().parse(edge.line)
                let message = try #require(root.value.objectValue?["params"]?.objectValue?.node(forKey: "messages")?.value.arrayValue?.first)
                #expect(try await client.readAll(conversation: "c").map(\.message) == [message.bytes(in: edge.line)])
            }
            // The same connection still answers, and is still authenticated.
            let info = try await client.systemInfo()
            #expect(info.version == Dispatcher.version)
            _ = try await client.list(ListParams())
            try await client.close()
        }
    }

    @Test("a CRLF line ending is accepted")
    func crlf() async throws {
        try await withServer { server in
            let client = try await server.connect()
            let line = try await client.sendRaw(bytes(Self.systemInfo + "\r"))
            #expect(try resultObject(line).id == RPCID(1))
            try await client.close()
        }
    }

    @Test("every bad line in a row on one connection, each followed by a good request")
    func allOnOneConnection() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            var next = 1000
            for edge in Self.cases {
                guard case .error(let code, _) = edge.expected else { continue }
                let answer = try errorAnswer(try await client.sendRaw(edge.line))
                #expect(answer.error.code == code, "\(edge.name)")
                next += 1
                let good = try await client.sendRaw(requestLine(id: next, "conversation.list", "{}"))
                let (id, result) = try resultObject(good)
                #expect(id == RPCID(Int64(next)), "after \(edge.name)")
                #expect(result["conversations"]?.arrayValue?.isEmpty == true)
            }
            try await client.close()
        }
    }
}
