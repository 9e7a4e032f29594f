import Testing
import TranscriptAPI

/// One row of the strictness table: input bytes and the expected verdict.
struct JSONCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// `nil` when the input must be accepted.
    let rejection: JSONError.Kind?

    var testDescription: String { name }

    static func accept(_ name: String, _ text: String) -> JSONCase {
        JSONCase(name: name, bytes: Array(text.utf8), rejection: nil)
    }

    static func accept(_ name: String, bytes: [UInt8]) -> JSONCase {
        JSONCase(name: name, bytes: bytes, rejection: nil)
    }

    static func reject(_ name: String, _ text: String, _ kind: JSONError.Kind) -> JSONCase {
        JSONCase(name: name, bytes: Array(text.utf8), rejection: kind)
    }

    static func reject(_ name: String, bytes: [UInt8], _ kind: JSONError.Kind) -> JSONCase {
        JSONCase(name: name, bytes: bytes, rejection: kind)
    }
}

/// Wraps `body` in a string literal's quotes: `"` + body + `"`.
private func quoted(_ body: [UInt8]) -> [UInt8] {
    [0x22] + body + [0x22]
}

private func nested(_ depth: Int, open: String = "[", close: String = "]") -> String {
    String(repeating: open, count: depth) + String(repeating: close, count: depth)
}

private func nestedObjects(_ depth: Int) -> String {
    String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
}

@Suite("StrictJSON accepts RFC 8259 and nothing else")
struct StrictJSONTests {
    static let cases: [JSONCase] = [
        .accept("empty object", "{}"),
        .accept("empty array", "[]"),
        .accept("scalar string at top level", #""x""#),
        .accept("negative zero", "-0"),
        .accept("exponent forms", "[1e5,1E+5,1e-5,-1.5e10,0.0]"),
        .accept("all literals", "[true,false,null]"),
        .accept("JSON whitespace around and inside", " \t\r\n{ \"a\" : [ 1 , 2 ] }\r\n "),
        .accept("valid surrogate pair escape", #""\ud83d\ude00""#),
        .accept("escaped NUL inside a string", #""a\u0000b""#),
        .accept("every short escape", #""\"\\\/\b\f\n\r\t""#),
        .accept("huge exponent", "1e400"),
        .accept("300-digit integer", String(repeating: "9", count: 300)),
        .accept("2-, 3- and 4-byte UTF-8", "\"é€😀\""),
        .accept("U+10FFFF, the last code point", bytes: quoted([0xF4, 0x8F, 0xBF, 0xBF])),
        .accept("DEL is not a control character in JSON", bytes: quoted([0x7F])),
        .accept("keys equal only under Unicode normalisation are distinct", "{\"\u{E9}\":1,\"e\u{301}\":2}"),
        .accept("keys equal only under normalisation are distinct in a large object too",
                "{" + (0..<12).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"\u{E9}\":1,\"e\u{301}\":2}"),
        .accept("nesting of 64 arrays", nested(64)),
        .accept("nesting of 64 objects", nestedObjects(64)),
        .accept("thirteen distinct keys", "{" + (0..<13).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"),

        .reject("duplicate key", #"{"a":1,"a":2}"#, .duplicateKey),
        .reject("duplicate key spelled with an escape", #"{"a":1,"\u0061":2}"#, .duplicateKey),
        .reject("duplicate key in a large object", "{" + (0..<20).map { "\"k\($0)\":0" }.joined(separator: ",") + ",\"k3\":1}", .duplicateKey),
        .reject("duplicate non-ASCII key in a large object",
                "{" + (0..<20).map { "\"k\($0)\":0" }.joined(separator: ",") + ",\"e\u{301}\":1,\"e\u{301}\":2}", .duplicateKey),
        .reject("duplicate non-ASCII key in a small object", "{\"\u{E9}\u{20AC}\":1,\"\u{E9}\u{20AC}\":2}", .duplicateKey),
        .reject("duplicate key in a nested object", #"[{"x":{"b":1,"b":1}}]"#, .duplicateKey),
        .reject("trailing comma in array", "[1,2,]", .trailingComma),
        .reject("trailing comma in object", #"{"a":1,}"#, .trailingComma),
        .reject("nesting of 65 arrays", nested(65), .tooDeep),
        .reject("nesting of 65 objects", nestedObjects(65), .tooDeep),
        .reject("lone continuation byte", bytes: quoted([0x80]), .invalidUTF8),
        .reject("byte 0xFF", bytes: quoted([0xFF]), .invalidUTF8),
        .reject("lead byte 0xF5", bytes: quoted([0xF5, 0x80, 0x80, 0x80]), .invalidUTF8),
        .reject("overlong 2-byte slash", bytes: quoted([0xC0, 0xAF]), .invalidUTF8),
        .reject("overlong 2-byte with C1", bytes: quoted([0xC1, 0xBF]), .invalidUTF8),
        .reject("overlong 3-byte slash", bytes: quoted([0xE0, 0x80, 0xAF]), .invalidUTF8),
        .reject("overlong 4-byte slash", bytes: quoted([0xF0, 0x80, 0x80, 0xAF]), .invalidUTF8),
        .reject("UTF-8 encoded high surrogate", bytes: quoted([0xED, 0xA0, 0x80]), .invalidUTF8),
        .reject("UTF-8 encoded low surrogate", bytes: quoted([0xED, 0xBF, 0xBF]), .invalidUTF8),
        .reject("code point above U+10FFFF", bytes: quoted([0xF4, 0x90, 0x80, 0x80]), .invalidUTF8),
        .reject("truncated sequence before the quote", bytes: quoted([0xE2, 0x82]), .invalidUTF8),
        .reject("bad continuation byte", bytes: quoted([0xC3, 0x28]), .invalidUTF8),
        .reject("lone high surrogate escape", #""\ud800""#, .loneSurrogate),
        .reject("lone low surrogate escape", #""\udc00""#, .loneSurrogate),
        .reject("high surrogate then a non-surrogate escape", #""\ud800\u0041""#, .loneSurrogate),
        .reject("high surrogate then a plain character", #""\ud800x""#, .loneSurrogate),
        .reject("two high surrogates", #""\ud800\ud800""#, .loneSurrogate),
        .reject("byte order mark", bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8), .byteOrderMark),
        .reject("NUL after the value", bytes: Array("{}".utf8) + [0x00], .trailingBytes),
        .reject("NUL before the value", bytes: [0x00] + Array("{}".utf8), .unexpectedByte),
        .reject("raw NUL in a string", bytes: quoted([0x61, 0x00]), .controlCharacter),
        .reject("raw newline in a string", "\"a\nb\"", .controlCharacter),
        .reject("raw tab in a string", "\"a\tb\"", .controlCharacter),
        .reject("trailing garbage", "{} x", .trailingBytes),
        .reject("two values", "{}{}", .trailingBytes),
        .reject("two numbers", "1 2", .trailingBytes),
        .reject("form feed is not JSON whitespace", "\u{0C}{}", .unexpectedByte),
        .reject("leading zero", "01", .invalidNumber),
        .reject("negative leading zero", "[-01]", .invalidNumber),
        .reject("double zero", "00", .invalidNumber),
        .reject("fraction without digits", "1.", .invalidNumber),
        .reject("exponent without digits", "1e+", .invalidNumber),
        .reject("bare minus", "-", .invalidNumber),
        .reject("leading plus", "+1", .unexpectedByte),
        .reject("leading dot", ".5", .unexpectedByte),
        .reject("NaN", "NaN", .invalidLiteral),
        .reject("Infinity", "[Infinity]", .invalidLiteral),
        .reject("negative Infinity", "-Infinity", .invalidNumber),
        .reject("misspelled literal", "tru", .invalidLiteral),
        .reject("capitalised literal", "True", .unexpectedByte),
        .reject("single-quoted string", "{'a':1}", .unexpectedByte),
        .reject("block comment", #"{"a":1 /* c */}"#, .unexpectedByte),
        .reject("line comment", "// c\n{}", .unexpectedByte),
        .reject("invalid escape", #""\x41""#, .invalidEscape),
        .reject("short unicode escape", #""\u12""#, .invalidEscape),
        .reject("non-hex unicode escape", #""\u12g4""#, .invalidEscape),
        .reject("empty input", "", .unexpectedEnd),
        .reject("whitespace only", " \n\t\r ", .unexpectedEnd),
        .reject("unterminated string", #""abc"#, .unexpectedEnd),
        .reject("unterminated array", "[1,2", .unexpectedEnd),
        .reject("unterminated object", #"{"a":1"#, .unexpectedEnd),
        .reject("missing value", #"{"a":}"#, .unexpectedByte),
        .reject("missing colon", #"{"a" 1}"#, .unexpectedByte),
        .reject("non-string key", "{1:2}", .unexpectedByte),
        .reject("missing comma", "[1 2]", .unexpectedByte),
    ]

    @Test("edge case", arguments: cases)
    func edgeCase(_ testCase: JSONCase) throws {
        let parser = StrictJSON()
        if let expected = testCase.rejection {
            let error = #expect(throws: JSONError.self) { try parser.parse(testCase.bytes) }
            #expect(error?.kind == expected)
            #expect(error.map { $0.offset >= 0 && $0.offset <= testCase.bytes.count } == true)
        } else {
            let node = try parser.parse(testCase.bytes)
            let trimmed = testCase.bytes.firstIndex { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            #expect(node.range.lowerBound == trimmed)
        }
    }

    @Test("errors report the offset of the offending byte")
    func errorOffsets() {
        let parser = StrictJSON()
        #expect(throws: JSONError(.duplicateKey, at: 7, "duplicate key in object")) {
            try parser.parse(Array(#"{"a":1,"a":2}"#.utf8))
        }
        let invalid = #expect(throws: JSONError.self) { try parser.parse(quoted([0x61, 0x62, 0xC0, 0xAF])) }
        #expect(invalid?.offset == 3)
        let deep = #expect(throws: JSONError.self) { try parser.parse(Array(nested(65).utf8)) }
        #expect(deep?.offset == 64)
    }

    @Test("error messages do not quote the input")
    func messagesDoNotEchoInput() {
        let secret = "sk-live-SECRETSECRETSECRET"
        let inputs = ["{\"\(secret)\":1,\"\(secret)\":2}", "[\"\(secret)\",]", "{\"\(secret)\" x}", "\"\(secret)\\q\""]
        for input in inputs {
            let error = #expect(throws: JSONError.self) { try StrictJSON().parse(Array(input.utf8)) }
            #expect(error.map { !$0.description.contains("SECRET") } == true)
        }
    }

    @Test("hostile nesting fails fast at the limit without exhausting the stack")
    func hostileNesting() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        let error = #expect(throws: JSONError.self) { try StrictJSON().parse(bytes) }
        #expect(error?.kind == .tooDeep)
        #expect(error?.offset == 64)
    }

    @Test("maxDepth is configurable", arguments: [1, 2, 10, 200])
    func configurableDepth(maxDepth: Int) throws {
        let parser = StrictJSON(maxDepth: maxDepth)
        _ = try parser.parse(Array(nested(maxDepth).utf8))
        let error = #expect(throws: JSONError.self) { try parser.parse(Array(nested(maxDepth + 1).utf8)) }
        #expect(error?.kind == .tooDeep)
        #expect(try parser.parse(Array("7".utf8)).value.numberValue?.int64Value == 7)
    }

    @Test("strings decode escapes and surrogate pairs to the right scalars")
    func stringDecoding() throws {
        let node = try StrictJSON().parse(Array(#"["\ud83d\ude00","\u00e9\n","caf\u00e9","\"\\\/"]"#.utf8))
        let strings = try #require(node.value.arrayValue).map(\.value.stringValue)
        #expect(strings == ["😀", "é\n", "café", "\"\\/"])
    }

    @Test("the parser accepts a borrowed buffer and a byte array alike")
    func unsafeBufferEntryPoint() throws {
        let bytes = Array(#"  {"k":[1,"two",null]}  "#.utf8)
        let fromArray = try StrictJSON().parse(bytes)
        let fromBuffer = try bytes.withUnsafeBytes { buffer throws(JSONError) in try StrictJSON().parse(buffer) }
        #expect(fromArray == fromBuffer)
        #expect(fromArray.range == 2..<22)
    }

    @Test("special bytes are found at every position of the eight-byte scan", arguments: 0..<20)
    func specialByteAtEveryOffset(offset: Int) throws {
        let prefix = [UInt8](repeating: UInt8(ascii: "a"), count: offset)
        let suffix = [UInt8](repeating: UInt8(ascii: "b"), count: 11)
        let parser = StrictJSON()
        let plain = try parser.parse(quoted(prefix + suffix))
        #expect(plain.value.stringValue == String(repeating: "a", count: offset) + String(repeating: "b", count: 11))
        let escaped = try parser.parse(quoted(prefix + Array(#"\n"#.utf8) + suffix))
        #expect(escaped.value.stringValue == String(repeating: "a", count: offset) + "\n" + String(repeating: "b", count: 11))
        let accented = try parser.parse(quoted(prefix + [0xC3, 0xA9] + suffix))
        #expect(accented.value.stringValue == String(repeating: "a", count: offset) + "é" + String(repeating: "b", count: 11))
        for (bad, kind) in [(UInt8(0x1F), JSONError.Kind.controlCharacter), (0x80, .invalidUTF8), (0x00, .controlCharacter)] {
            let error = #expect(throws: JSONError.self) { try parser.parse(quoted(prefix + [bad] + suffix)) }
            #expect(error?.kind == kind)
            #expect(error?.offset == offset + 1)
        }
        let early = try parser.parse(Array("[".utf8) + quoted(prefix) + Array(",1]".utf8))
        #expect(early.value.arrayValue?.count == 2)
    }
}
