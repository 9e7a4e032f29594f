import Testing
import TranscriptAPI

@Suite("Response lines carry results and errors in the contract's shape")
struct RPCResponseTests {
    static let errors: [(RPCError, Int, String)] = [
        (.parseError(), -32700, "tvault.ParseError"),
        (.invalidRequest(), -32600, "tvault.InvalidRequest"),
        (.methodNotFound(), -32601, "tvault.MethodNotFound"),
        (.invalidParams(field: "limit"), -32602, "tvault.InvalidParams"),
        (.unauthenticated(), -32001, "tvault.Unauthenticated"),
        (.forbidden(), -32003, "tvault.Forbidden"),
        (.notFound(), -32004, "tvault.NotFound"),
        (.conflict(), -32009, "tvault.Conflict"),
        (.tenantShredded(), -32010, "tvault.TenantShredded"),
        (.tooLarge(), -32013, "tvault.TooLarge"),
        (.rateLimited(retryAfterMs: 250), -32029, "tvault.RateLimited"),
        (.unavailable(), -32050, "tvault.Unavailable"),
        (.internal(), -32603, "tvault.Internal"),
    ]

    @Test("every error code survives encoding and client decoding", arguments: errors)
    func errorRoundTrip(error: RPCError, code: Int, name: String) throws {
        #expect(error.code == code)
        #expect(error.name == name)
        let line = RPCResponse.failureLine(id: RPCID(5), error: error)
        let response = try RPCResponse.decode(line)
        #expect(response.id == RPCID(5))
        #expect(response.outcome == .error(error))
    }

    @Test("error data carries field and retry_after_ms")
    func errorData() {
        let limited = RPCResponse.failureLine(id: .null, error: .rateLimited(retryAfterMs: 1500))
        #expect(String(decoding: limited, as: UTF8.self) == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"rate limited","data":{"name":"tvault.RateLimited","retry_after_ms":1500}}}"# + "\n")
        let invalid = RPCResponse.failureLine(id: RPCID("x"), error: .invalidParams(field: "conversation_id", "missing required parameter"))
        #expect(String(decoding: invalid, as: UTF8.self) == #"{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"missing required parameter","data":{"name":"tvault.InvalidParams","field":"conversation_id"}}}"# + "\n")
    }

    @Test("a parse error never quotes the offending line")
    func parseErrorMessage() {
        let rejection = #expect(throws: RPCRequest.Rejection.self) {
            try RPCRequest.decode(Array(#"{"jsonrpc":"2.0","method":"x","params":{"secret-token-value":1,"secret-token-value":2}}"#.utf8))
        }
        #expect(rejection?.error.code == -32700)
        #expect(rejection.map { !String(decoding: $0.responseLine, as: UTF8.self).contains("secret") } == true)
    }

    @Test("success lines splice the id and the result")
    func successLine() throws {
        let line = RPCResponse.successLine(id: RPCID(7), result: AppendResult(conversationID: "c1", firstSeq: 1, lastSeq: 3))
        #expect(String(decoding: line, as: UTF8.self) == #"{"jsonrpc":"2.0","id":7,"result":{"conversation_id":"c1","first_seq":1,"last_seq":3}}"# + "\n")
        let response = try RPCResponse.decode(line)
        #expect(try response.decodeResult(AppendResult.self) == AppendResult(conversationID: "c1", firstSeq: 1, lastSeq: 3))
    }

    @Test("decodeResult rethrows the server's error")
    func decodeResultThrows() throws {
        let response = try RPCResponse.decode(RPCResponse.failureLine(id: RPCID(1), error: .notFound()))
        #expect(throws: RPCError.notFound()) { try response.decodeResult(AppendResult.self) }
    }

    @Test("malformed responses are rejected", arguments: [
        (#"{"jsonrpc":"2.0","id":1}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}"#, -32600),
        (#"{"jsonrpc":"2.0","result":{}}"#, -32600),
        (#"{"jsonrpc":"1.0","id":1,"result":{}}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#, -32600),
        (#"{"jsonrpc":"2.0","id":1,"result":{},}"#, -32700),
    ])
    func malformedResponse(line: String, code: Int) {
        let error = #expect(throws: RPCError.self) { try RPCResponse.decode(Array(line.utf8)) }
        #expect(error?.code == code)
    }
}
