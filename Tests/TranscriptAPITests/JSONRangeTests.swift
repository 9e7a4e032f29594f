import Testing
import TranscriptAPI

@Suite("Byte ranges give back the exact original bytes")
struct JSONRangeTests {
    /// Messages whose exact spelling must survive: key order, `1.0`, escapes, raw Unicode,
    /// nested whitespace and a huge number.
    static let messages: [String] = [
        #"{"role":"user","content":"hi"}"#,
        #"{"z":1,"a":1.0,"m":-0.0e0}"#,
        #"{ "content" : "caf\u00e9 \"quoted\" \n tab\t", "emoji":"😀" }"#,
        #"{"tool_calls":[{"arguments":"{\"x\": 1}"}],"big":123456789012345678901234567890}"#,
        "{\"raw\":\"é€\",\"nested\":{\"deep\":[[],{}]}}",
    ]

    @Test("each message object's range covers exactly the bytes that were sent")
    func messageRanges() throws {
        let line = Array(("{\"messages\":[ " + Self.messages.joined(separator: " ,\n ") + " ]}\n").utf8)
        let root = try StrictJSON().parse(line)
        let elements = try #require(root.value.objectValue?.node(forKey: "messages")?.value.arrayValue)
        #expect(elements.count == Self.messages.count)
        for (element, original) in zip(elements, Self.messages) {
            #expect(element.bytes(in: line) == Array(original.utf8))
            #expect(element.value.objectValue?.range == element.range)
        }
    }

    @Test("scalar and container ranges exclude surrounding whitespace")
    func scalarRanges() throws {
        let text = #" { "n" : 1.50 , "s" : "a\"b" , "t" : true , "a" : [ 1 ] } "#
        let bytes = Array(text.utf8)
        let object = try #require(try StrictJSON().parse(bytes).value.objectValue)
        let spelled = object.members.map { String(decoding: $0.node.bytes(in: bytes), as: UTF8.self) }
        #expect(spelled == ["1.50", #""a\"b""#, "true", "[ 1 ]"])
        #expect(object.range == 1..<(bytes.count - 1))
        #expect(object.keys == ["n", "s", "t", "a"])
    }

    @Test("members keep input order and lookup is by exact bytes")
    func memberOrderAndLookup() throws {
        let bytes = Array("{\"b\":1,\"a\":2,\"\u{E9}\":3}".utf8)
        let object = try #require(try StrictJSON().parse(bytes).value.objectValue)
        #expect(object.keys == ["b", "a", "\u{E9}"])
        #expect(object["a"]?.numberValue?.int64Value == 2)
        #expect(object["\u{E9}"]?.numberValue?.int64Value == 3)
        #expect(object["e\u{301}"] == nil)
        #expect(object["c"] == nil)
    }

    @Test("numbers keep their text; conversions are exact or nil")
    func numberText() throws {
        let bytes = Array("[1.0,9223372036854775807,9223372036854775808,-9223372036854775808,1e400,1e2,-0,\(String(repeating: "7", count: 300))]".utf8)
        let numbers = try #require(try StrictJSON().parse(bytes).value.arrayValue).compactMap(\.value.numberValue)
        #expect(numbers.map(\.text) == ["1.0", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e400", "1e2", "-0", String(repeating: "7", count: 300)])
        #expect(numbers.map(\.int64Value) == [nil, Int64.max, nil, Int64.min, nil, nil, 0, nil])
        #expect(numbers[0].doubleValue == 1.0)
        #expect(numbers[4].doubleValue == nil)
        #expect(numbers[5].doubleValue == 100)
        #expect(numbers[0] != JSONNumber(1))
    }
}
