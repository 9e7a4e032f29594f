import Testing
import TranscriptAPI

@Suite("JSONWriter writes compact, correctly escaped JSON")
struct JSONWriterTests {
    static let tricky: [String] = [
        "",
        "plain",
        "quote \" and backslash \\ and slash /",
        "newline\n return\r tab\t backspace\u{08} formfeed\u{0C}",
        String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self),
        "DEL \u{7F}",
        "é € 😀 \u{10FFFF} \u{2028}",
        "e\u{301}",
    ]

    @Test("strings survive a round trip through the strict parser", arguments: tricky)
    func stringRoundTrip(_ string: String) throws {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member(string, string)
        }
        let object = try #require(try StrictJSON().parse(writer.bytes).value.objectValue)
        #expect(object.members.count == 1)
        #expect(object.members[0].key.utf8.elementsEqual(string.utf8))
        #expect(object.members[0].node.value.stringValue.map { $0.utf8.elementsEqual(string.utf8) } == true)
        #expect(!writer.bytes.contains { $0 < 0x20 })
    }

    @Test("control characters use short escapes where JSON has them, \\u00XX otherwise")
    func escapeSpelling() {
        var writer = JSONWriter()
        writer.string("\"\\\n\r\t\u{08}\u{0C}\u{01}\u{1F}/")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""\"\\\n\r\t\b\f\u0001\u001f/""#)
    }

    @Test("commas and nesting come out compact")
    func structure() {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("a", Int64(-5))
            writer.key("b")
            writer.array { writer in
                writer.number(UInt64.max)
                writer.bool(true)
                writer.null()
                writer.object { _ in }
                writer.array { _ in }
                writer.number(JSONNumber(2.5))
            }
            writer.member("c", nil as String?)
            writer.member("d", ["x", "y"])
        }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":-5,"b":[18446744073709551615,true,null,{},[],2.5],"c":null,"d":["x","y"]}"#)
    }

    @Test("raw values are spliced byte for byte")
    func rawSplice() throws {
        let message = Array(#"{ "b" : 1.0, "a" : "caf\u00e9" }"#.utf8)
        var writer = JSONWriter()
        writer.array { writer in
            writer.appendRaw(message)
            message.withUnsafeBytes { writer.appendRaw($0) }
            writer.object { $0.member("m", raw: message) }
        }
        let output = writer.bytes
        let elements = try #require(try StrictJSON().parse(output).value.arrayValue)
        #expect(elements.count == 3)
        #expect(elements[0].bytes(in: output) == message)
        #expect(elements[1].bytes(in: output) == message)
        #expect(elements[2].value.objectValue?.node(forKey: "m")?.bytes(in: output) == message)
    }
}
