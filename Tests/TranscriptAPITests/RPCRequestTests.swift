import Testing
import TranscriptAPI

/// One envelope case: a request line and what the server must answer.
struct EnvelopeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let line: String
    /// The expected error code, or `nil` when the envelope is valid.
    let code: Int?
    /// The id the response must carry, as JSON text.
    let id: String
    var field: String?

    var testDescription: String { name }
}

@Suite("JSON-RPC 2.0 envelopes are decoded strictly")
struct RPCRequestTests {
    static let cases: [EnvelopeCase] = [
        EnvelopeCase(name: "numeric id", line: #"{"jsonrpc":"2.0","method":"system.info","id":1}"#, code: nil, id: "1"),
        EnvelopeCase(name: "string id with escape echoed verbatim", line: #"{"jsonrpc":"2.0","method":"auth","params":{"token":"t"},"id":"r\u00e9-1"}"#, code: nil, id: #""r\u00e9-1""#),
        EnvelopeCase(name: "fractional id echoed verbatim", line: #"{"id":1.50,"method":"x","jsonrpc":"2.0"}"#, code: nil, id: "1.50"),
        EnvelopeCase(name: "huge id echoed verbatim", line: #"{"jsonrpc":"2.0","method":"x","id":123456789012345678901234567890}"#, code: nil, id: "123456789012345678901234567890"),
        EnvelopeCase(name: "null id", line: #"{"jsonrpc":"2.0","method":"x","id":null}"#, code: nil, id: "null"),
        EnvelopeCase(name: "notification", line: #"{"jsonrpc":"2.0","method":"x"}"#, code: nil, id: "null"),
        EnvelopeCase(name: "trailing newline is whitespace", line: "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":2}\r\n", code: nil, id: "2"),
        EnvelopeCase(name: "not JSON", line: #"{"jsonrpc":"2.0","method":"x","id":1"#, code: -32700, id: "null"),
        EnvelopeCase(name: "duplicate id member", line: #"{"jsonrpc":"2.0","method":"x","id":1,"id":2}"#, code: -32700, id: "null"),
        EnvelopeCase(name: "trailing comma", line: #"{"jsonrpc":"2.0","method":"x","id":1,}"#, code: -32700, id: "null"),
        EnvelopeCase(name: "params nested deeper than 64", line: #"{"jsonrpc":"2.0","method":"x","id":1,"params":{"a":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}}", code: -32700, id: "null"),
        EnvelopeCase(name: "empty line", line: "", code: -32700, id: "null"),
        EnvelopeCase(name: "batch array", line: #"[{"jsonrpc":"2.0","method":"x","id":1}]"#, code: -32600, id: "null"),
        EnvelopeCase(name: "scalar", line: "42", code: -32600, id: "null"),
        EnvelopeCase(name: "boolean id", line: #"{"jsonrpc":"2.0","method":"x","id":true}"#, code: -32600, id: "null", field: "id"),
        EnvelopeCase(name: "object id", line: #"{"jsonrpc":"2.0","method":"x","id":{}}"#, code: -32600, id: "null", field: "id"),
        EnvelopeCase(name: "missing jsonrpc", line: #"{"method":"x","id":3}"#, code: -32600, id: "3", field: "jsonrpc"),
        EnvelopeCase(name: "jsonrpc 1.0", line: #"{"jsonrpc":"1.0","method":"x","id":3}"#, code: -32600, id: "3", field: "jsonrpc"),
        EnvelopeCase(name: "jsonrpc as number", line: #"{"jsonrpc":2.0,"method":"x","id":3}"#, code: -32600, id: "3", field: "jsonrpc"),
        EnvelopeCase(name: "missing method", line: #"{"jsonrpc":"2.0","id":"a"}"#, code: -32600, id: #""a""#, field: "method"),
        EnvelopeCase(name: "method as number", line: #"{"jsonrpc":"2.0","method":5,"id":4}"#, code: -32600, id: "4", field: "method"),
        EnvelopeCase(name: "unknown member", line: #"{"jsonrpc":"2.0","method":"x","id":4,"extra":1}"#, code: -32600, id: "4", field: "extra"),
        EnvelopeCase(name: "params as string", line: #"{"jsonrpc":"2.0","method":"x","id":4,"params":"p"}"#, code: -32600, id: "4", field: "params"),
        EnvelopeCase(name: "params as null", line: #"{"jsonrpc":"2.0","method":"x","id":4,"params":null}"#, code: -32600, id: "4", field: "params"),
        EnvelopeCase(name: "params as array", line: #"{"jsonrpc":"2.0","method":"x","id":4,"params":[1]}"#, code: -32602, id: "4", field: "params"),
    ]

    @Test("envelope", arguments: cases)
    func envelope(_ testCase: EnvelopeCase) throws {
        let line = Array(testCase.line.utf8)
        if let code = testCase.code {
            let rejection = #expect(throws: RPCRequest.Rejection.self) { try RPCRequest.decode(line) }
            #expect(rejection?.error.code == code)
            #expect(rejection?.id.description == testCase.id)
            #expect(rejection?.error.field == testCase.field)
        } else {
            let request = try RPCRequest.decode(line)
            #expect(request.responseID.description == testCase.id)
            #expect(request.isNotification == !testCase.line.contains("\"id\""))
        }
    }

    @Test("a valid request exposes method and params")
    func methodAndParams() throws {
        let request = try RPCRequest.decode(Array(#"{"jsonrpc":"2.0","method":"conversation.read","params":{"conversation_id":"c"},"id":9}"#.utf8))
        #expect(RPCMethod(rawValue: request.method) == .conversationRead)
        #expect(request.params?["conversation_id"]?.stringValue == "c")
        #expect(request.id == RPCID(9))
    }

    @Test("the rejection's response line echoes the id and carries the code")
    func rejectionLine() {
        let rejection = #expect(throws: RPCRequest.Rejection.self) {
            try RPCRequest.decode(Array(#"{"jsonrpc":"2.0","method":"x","id":"q","params":[]}"#.utf8))
        }
        let line = rejection.map { String(decoding: $0.responseLine, as: UTF8.self) }
        #expect(line == #"{"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"params must be an object","data":{"name":"tvault.InvalidParams","field":"params"}}}"# + "\n")
    }

    @Test("the server's parse keeps the messages' bytes, and refuses a line of more values than it keeps")
    func serverKeeping() throws {
        let keeping = RPCRequest.keeping(messagesPerAppend: 1000)
        #expect(keeping.values == 65_536)
        #expect(RPCRequest.keeping(messagesPerAppend: 100_000).values == 100_064)
        let line = Array(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[{"a":[1,{"b":"\u00e9"}]}],"metadata":{"m":1}},"id":3}"#.utf8)
        let request = try RPCRequest.decode(line, keeping: keeping)
        let params = try request.decodeParams(AppendParams.self)
        #expect(params.messages == [Array(#"{"a":[1,{"b":"\u00e9"}]}"#.utf8)])
        #expect(params.metadata == Array(#"{"m":1}"#.utf8))
        #expect(params == (try RPCRequest.decode(line).decodeParams(AppendParams.self)))

        var tight = keeping
        tight.values = 8
        let rejection = #expect(throws: RPCRequest.Rejection.self) {
            try RPCRequest.decode(Array(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[1,2,3,4,5,6]},"id":3}"#.utf8), keeping: tight)
        }
        #expect(rejection?.error.code == RPCError.Code.tooLarge)
        #expect(rejection?.id == .null)
        #expect(rejection?.error.message == "the request has more than 8 values outside its messages and metadata")
    }

    @Test("encodeLine produces a request the server decodes back")
    func encodeRoundTrip() throws {
        let line = RPCRequest.encodeLine(id: RPCID("a\"b"), method: "conversation.delete", params: DeleteParams(tenant: "acme", conversationID: "c1"))
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
        let request = try RPCRequest.decode(line)
        #expect(request.method == "conversation.delete")
        #expect(request.id == RPCID("a\"b"))
        #expect(try request.decodeParams(DeleteParams.self) == DeleteParams(tenant: "acme", conversationID: "c1"))
        let notification = try RPCRequest.decode(RPCRequest.encodeLine(id: nil, method: "system.info", params: nil))
        #expect(notification.isNotification)
        #expect(notification.params == nil)
    }
}
