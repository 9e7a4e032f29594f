import Testing
import TranscriptAPI

/// A parse that keeps less than the whole tree (``StrictJSON/Keeping``), as the server's parse
/// of request lines does: just as strict, and bounded in what it keeps.
@Suite("StrictJSON skims what it does not keep, as strictly as what it keeps")
struct StrictJSONKeepingTests {
    /// Keeps the top-level container's range and nothing inside it.
    static let skimming = StrictJSON(keeping: StrictJSON.Keeping(objectDepth: 0, arrayDepth: 0, values: .max))

    /// Errors found inside a value, which must be found inside a skimmed container too.
    static let kindsInsideValues: Set<JSONError.Kind> = [
        .invalidUTF8, .loneSurrogate, .controlCharacter, .invalidEscape, .duplicateKey, .trailingComma,
        .invalidNumber, .invalidLiteral,
    ]

    @Test("every edge case gets the same verdict inside a skimmed array or object", arguments: StrictJSONTests.cases)
    func skimmedEdgeCase(_ testCase: JSONCase) {
        let wrappings = [
            Array("[".utf8) + testCase.bytes + Array("]".utf8),
            Array(#"{"m":[{"c":"#.utf8) + testCase.bytes + Array("}]}".utf8),
        ]
        for wrapped in wrappings {
            let full = Result { () throws(JSONError) in try StrictJSON().parse(wrapped) }
            let skimmed = Result { () throws(JSONError) in try Self.skimming.parse(wrapped) }
            switch (full, skimmed) {
            case (.failure(let expected), .failure(let error)):
                #expect(error == expected)
                if let kind = testCase.rejection, Self.kindsInsideValues.contains(kind) {
                    #expect(error.kind == kind)
                }
            case (.success(let node), .success(let shallow)):
                #expect(shallow.range == node.range)
                #expect(shallow.value.arrayValue?.isEmpty ?? shallow.value.objectValue?.members.isEmpty ?? false)
            default:
                Issue.record("the full parse gives \(full), the skimming one \(skimmed)")
            }
        }
    }

    @Test("containers past their depth keep their kind and range, and nothing else")
    func keptDepths() throws {
        let bytes = Array(#"{"p":{"list":[{"deep":[1]},[2],"s",3],"obj":{"x":1}}}"#.utf8)
        let keeping = StrictJSON.Keeping(objectDepth: 2, arrayDepth: 3, values: .max)
        let root = try StrictJSON(keeping: keeping).parse(bytes)
        let params = try #require(root.value.objectValue?.node(forKey: "p")?.value.objectValue)
        let list = try #require(params.node(forKey: "list")?.value.arrayValue)
        #expect(list.count == 4)
        let message = try #require(list.first)
        #expect(message.value.objectValue?.members.isEmpty == true)
        #expect(Array(bytes[message.range]) == Array(#"{"deep":[1]}"#.utf8))
        #expect(list[1].value.arrayValue?.isEmpty == true)
        #expect(Array(bytes[list[1].range]) == Array("[2]".utf8))
        // Arrays are kept to depth 3, so the scalars in one are kept too.
        #expect(list[2].value.stringValue == "s")
        #expect(list[3].value.numberValue?.int64Value == 3)
        let object = try #require(params.node(forKey: "obj"))
        #expect(object.value.objectValue?.members.isEmpty == true)
        #expect(Array(bytes[object.range]) == Array(#"{"x":1}"#.utf8))
    }

    @Test("the value limit counts kept values only, and refuses one more")
    func valueLimit() throws {
        let bytes = Array(#"{"a":[1,2,3],"b":{"c":[4,5,6,7,8]}}"#.utf8)
        // Kept: a, b (2 members), 1, 2, 3 (3 elements); b's contents are skimmed.
        let keeping = StrictJSON.Keeping(objectDepth: 1, arrayDepth: 2, values: 5)
        let root = try StrictJSON(keeping: keeping).parse(bytes)
        #expect(root.value.objectValue?.count == 2)
        var tighter = keeping
        tighter.values = 4
        let error = #expect(throws: JSONError.self) { try StrictJSON(keeping: tighter).parse(bytes) }
        #expect(error?.kind == .tooManyValues)
        #expect(error?.message == "more than 4 values")
    }

    @Test("a million numbers inside a skimmed array: none of them is kept")
    func hugeSkimmedArray() throws {
        let count = 1 << 20
        var numbers = [UInt8](repeating: UInt8(ascii: ","), count: 2 * count - 1)
        for index in stride(from: 0, to: numbers.count, by: 2) { numbers[index] = UInt8(ascii: "0") }
        let bytes = Array(#"{"m":[["#.utf8) + numbers + Array("]]}".utf8)
        let keeping = StrictJSON.Keeping(objectDepth: 1, arrayDepth: 2, values: 16)
        let root = try StrictJSON(keeping: keeping).parse(bytes)
        let outer = try #require(root.value.objectValue?.node(forKey: "m")?.value.arrayValue)
        #expect(outer.count == 1)
        #expect(outer[0].value.arrayValue?.isEmpty == true)
        #expect(outer[0].range == 6..<(bytes.count - 2))
        // The same line with the inner array kept is refused at the limit, not parsed whole.
        let kept = StrictJSON.Keeping(objectDepth: 1, arrayDepth: 3, values: 16)
        let error = #expect(throws: JSONError.self) { try StrictJSON(keeping: kept).parse(bytes) }
        #expect(error?.kind == .tooManyValues)
        #expect(error.map { $0.offset < 64 } == true)
    }
}
