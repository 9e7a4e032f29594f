import Testing
import TranscriptAPI

/// The value limit of ``StrictJSON/Keeping`` refuses documents that are strict JSON but keep too
/// many values (`.tooManyValues`, "valid JSON, but too large to take in"). A document that is
/// not strict JSON gets the same error as from the full parse, wherever its fault lies: after
/// the limit is passed the parse keeps nothing more, but still checks the rest.
@Suite("A document past the value limit that is not strict JSON gets its own error")
struct StrictJSONValueLimitPrecedenceTests {
    static let tight = StrictJSON(keeping: StrictJSON.Keeping(objectDepth: 2, arrayDepth: 3, values: 2))

    /// Documents with more than two kept values and a fault after the third.
    static let faulty: [String] = [
        "[0,0,0,]",                          // trailing comma
        "[0,0,0",                            // input ends
        #"{"a":0,"b":0,"c":0,"a":1}"#,       // duplicate key
        #"[0,0,0,"\ud800"]"#,                // lone surrogate
        "[0,0,0,01]",                        // leading zero
        "[0,0,0,[[[[[[[[1]]]]]]]]]",         // too deep (maxDepth 8 below)
        "[0,0,0] x",                         // trailing bytes
        #"{"p":{"m":[0,0,0,{"k":1,"k":2}]}}"#, // duplicate key inside a skimmed object
    ]

    @Test("the same error as the full parse", arguments: faulty)
    func sameErrorAsFullParse(_ text: String) {
        let bytes = Array(text.utf8)
        let full = Result { () throws(JSONError) in try StrictJSON(maxDepth: 8).parse(bytes) }
        let limited = Result { () throws(JSONError) in
            try StrictJSON(maxDepth: 8, keeping: Self.tight.keeping).parse(bytes)
        }
        guard case .failure(let expected) = full else {
            Issue.record("the full parse accepts \(text)")
            return
        }
        #expect(limited == .failure(expected), "\(text)")
    }

    @Test("invalid UTF-8 after the limit is invalid UTF-8")
    func invalidUTF8() {
        let bytes = Array("[0,0,0,\"".utf8) + [0xFF] + Array("\"]".utf8)
        let error = #expect(throws: JSONError.self) { try Self.tight.parse(bytes) }
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.offset == 8)
    }

    @Test("a valid document past the limit is still refused where the limit is passed")
    func validDocument() {
        let error = #expect(throws: JSONError.self) { try Self.tight.parse(Array("[0,0,0,[1,2]]".utf8)) }
        #expect(error?.kind == .tooManyValues)
        #expect(error?.offset == 5)
        #expect(error?.message == "more than 2 values")
    }

    @Test("the server's decode answers a line that is not strict JSON -32700, over the limit or not")
    func serverDecode() {
        // 70,000 zeros where the messages go, then a trailing comma.
        let line = Array(#"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[0"#.utf8)
            + Array(String(repeating: ",0", count: 69_999).utf8) + Array(#",]},"id":1}"#.utf8)
        let keeping = RPCRequest.keeping(messagesPerAppend: 1000)
        let full = Result { () throws(RPCRequest.Rejection) in try RPCRequest.decode(line) }
        let server = Result { () throws(RPCRequest.Rejection) in try RPCRequest.decode(line, keeping: keeping) }
        guard case .failure(let expected) = full, case .failure(let rejection) = server else {
            Issue.record("a line with a trailing comma was decoded")
            return
        }
        #expect(expected.error.code == RPCError.Code.parseError)
        #expect(rejection == expected)
    }
}
