// The properties below are the single copy shared by the fuzz harness and this test: the
// harness build (Tools/fuzz/run) compiles this file next to Tools/fuzz/FuzzEntry.swift with
// -D TRANSCRIPT_FUZZ_HARNESS, which leaves out the swift-testing suite at the end.
#if !TRANSCRIPT_FUZZ_HARNESS
import Testing
#endif
import Foundation
import TranscriptAPI

/// An input for which the strict JSON reader or request decoding broke one of its properties.
struct PropertyViolation: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// What the strict JSON reader and JSON-RPC request decoding promise for any input at all.
///
/// `json`: the reader either accepts the bytes or throws a ``JSONError`` that the bytes justify
/// (for example `.invalidUTF8` only where a scalar really is ill-formed). When it accepts:
/// Foundation's `JSONSerialization` accepts too and reads the same values (the reader may be
/// stricter than Foundation, never looser); writing the value with ``JSONWriter`` and reading it
/// again gives the same value, and writing that again the same bytes; every value's range lies
/// inside its parent's and re-reads, on its own, to the same value; depth is counted exactly.
///
/// A parse that keeps less (``StrictJSON/Keeping``) is exactly as strict: it refuses the same
/// inputs with the same error at the same offset, and what it accepts is the full tree with the
/// containers past its depths emptied; its value limit refuses exactly the valid documents that
/// keep more values than that (an invalid one gets its own error, limit or not).
///
/// `request`: everything `json` checks, and ``RPCRequest/decode(_:maxDepth:keeping:)`` either
/// rejects with -32700 (exactly when the reader rejects), -32600 or -32602 and a one-line
/// response that echoes the id byte for byte, or gives a request whose params, for every params
/// type, either fail with -32602 naming a field or encode (as a client does) and decode back to
/// the same params; appended messages and metadata are the exact bytes of their values in the
/// line. Decoding with the server's ``RPCRequest/keeping(messagesPerAppend:)`` gives the same
/// outcome in every way.
enum FuzzProperties {
    /// Which code an input is fed to.
    enum Target: String, CaseIterable, Sendable {
        case json
        case request
    }

    /// Checks every property of `target` for `input`.
    static func check(_ input: [UInt8], _ target: Target) throws(PropertyViolation) {
        try checkJSON(input)
        if target == .request {
            try checkRequest(input)
        }
    }

    // MARK: The strict reader

    static func checkJSON(_ input: [UInt8]) throws(PropertyViolation) {
        let root: JSONNode
        let full = parse(input)
        try checkKeeping(input, full: full)
        switch full {
        case .failure(let error):
            try checkRejection(error, of: input)
            return
        case .success(let node):
            root = node
        }
        let borrowed: Result<JSONNode, JSONError> = input.withUnsafeBytes { buffer in
            Result { () throws(JSONError) in try StrictJSON().parse(buffer) }
        }
        try require(borrowed == .success(root), "parse([UInt8]) and parse(UnsafeRawBufferPointer) disagree")
        let trimmed = input.firstIndex { !isWhitespace($0) }!..<(input.lastIndex { !isWhitespace($0) }! + 1)
        try require(root.range == trimmed, "the root range \(root.range) is not the input without whitespace \(trimmed)")
        try checkRanges(root, in: input)
        try checkDepth(root, input)
        try checkWriterRoundTrip(root)
        try checkFoundation(root, input)
    }

    /// A rejection names a kind that the byte at its offset justifies.
    static func checkRejection(_ error: JSONError, of input: [UInt8]) throws(PropertyViolation) {
        let offset = error.offset
        try require((0...input.count).contains(offset), "\(error.kind) offset \(offset) outside the input")
        try require(error.description.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "\(error.kind) message is not printable ASCII")
        let byte = offset < input.count ? input[offset] : nil
        let justified: Bool
        switch error.kind {
        case .unexpectedEnd:
            justified = offset >= input.count - 1
        case .unexpectedByte:
            justified = byte != nil && !isWhitespace(byte!)
        case .invalidLiteral:
            justified = byte.map { Array("tfnNI".utf8).contains($0) } ?? false
        case .invalidNumber:
            justified = byte.map { $0 == UInt8(ascii: "-") || isDigit($0) } ?? false
        case .invalidEscape, .loneSurrogate:
            justified = byte == UInt8(ascii: "\\")
        case .invalidUTF8:
            var bytes = input[offset...].makeIterator()
            var decoder = UTF8()
            if case .error = decoder.decode(&bytes) { justified = true } else { justified = false }
        case .controlCharacter:
            justified = byte.map { $0 < 0x20 } ?? false
        case .duplicateKey:
            justified = byte == UInt8(ascii: "\"")
        case .trailingComma:
            justified = byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")
        case .tooDeep:
            justified = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{")
        case .trailingBytes:
            justified = byte.map { !isWhitespace($0) } == true && (try? parse(Array(input[..<offset])).get()) != nil
        case .byteOrderMark:
            justified = offset == 0 && input.starts(with: [0xEF, 0xBB, 0xBF])
        case .tooManyValues:
            // A full parse keeps any number of values.
            justified = false
        }
        try require(justified, "\(error.kind) at offset \(offset) is not justified by the input (\(error))")
    }

    /// Policies of ``StrictJSON/Keeping`` that each input is also parsed with: the server's, and
    /// others around it.
    static let keepings = [(0, 0), (1, 1), (2, 3), (3, 2), (1, 4)].map {
        StrictJSON.Keeping(objectDepth: $0.0, arrayDepth: $0.1, values: .max)
    }

    /// A parse that keeps less refuses what the full parse refuses, the same way, and accepts
    /// the full tree pruned; its value limit bites exactly past the values it keeps.
    static func checkKeeping(_ input: [UInt8], full: Result<JSONNode, JSONError>) throws(PropertyViolation) {
        for keeping in keepings {
            let skimmed = parse(input, keeping: keeping)
            switch (full, skimmed) {
            case (.failure(let expected), .failure(let error)):
                try require(error == expected, "keeping \(keeping) refuses with \(error), the full parse with \(expected)")
                // Past the value limit the rest is still checked: the error stays the input's own.
                var limited = keeping
                limited.values = 0
                try require(parse(input, keeping: limited) == .failure(expected),
                            "keeping \(keeping) with no values refuses with another error than \(expected)")
            case (.success(let root), .success(let node)):
                let pruned = prune(root, keeping: keeping)
                try require(identical(node, pruned, shift: 0), "keeping \(keeping) reads another tree than the full one pruned")
                let kept = keptValues(pruned)
                guard kept > 0 else { continue }
                var limited = keeping
                limited.values = kept
                guard case .success = parse(input, keeping: limited) else {
                    throw PropertyViolation("keeping \(keeping) refuses a document of exactly \(kept) kept values")
                }
                limited.values = kept - 1
                guard case .failure(let error) = parse(input, keeping: limited), error.kind == .tooManyValues else {
                    throw PropertyViolation("keeping \(keeping) accepts \(kept) values with a limit of \(kept - 1)")
                }
            default:
                throw PropertyViolation("keeping \(keeping) gives \(skimmed), the full parse \(full)")
            }
        }
    }

    /// `node` as a parse with `keeping` returns it: containers past their depth emptied.
    static func prune(_ node: JSONNode, keeping: StrictJSON.Keeping, depth: Int = 1, kept: Bool = true) -> JSONNode {
        switch node.value {
        case .array(let elements):
            guard kept && depth <= keeping.arrayDepth else { return JSONNode(value: .array([]), range: node.range) }
            return JSONNode(value: .array(elements.map { prune($0, keeping: keeping, depth: depth + 1) }), range: node.range)
        case .object(let object):
            guard kept && depth <= keeping.objectDepth else {
                return JSONNode(value: .object(JSONObject(members: [], range: node.range)), range: node.range)
            }
            let members = object.members.map {
                JSONObject.Member(key: $0.key, node: prune($0.node, keeping: keeping, depth: depth + 1))
            }
            return JSONNode(value: .object(JSONObject(members: members, range: object.range)), range: node.range)
        default:
            return node
        }
    }

    /// How many values a pruned tree holds below its top.
    static func keptValues(_ node: JSONNode) -> Int {
        children(of: node).reduce(0) { $0 + 1 + keptValues($1) }
    }

    /// Every range lies inside its parent's, in order, and re-reads on its own to the same value.
    static func checkRanges(_ node: JSONNode, in input: [UInt8]) throws(PropertyViolation) {
        let range = node.range
        try require(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= input.count, "range \(range) outside the input")
        guard case .success(let alone) = parse(Array(input[range])) else {
            throw PropertyViolation("the bytes of range \(range) do not parse on their own")
        }
        try require(identical(alone, node, shift: range.lowerBound), "the bytes of range \(range) re-read to another value")
        var previousEnd = range.lowerBound + 1
        for child in children(of: node) {
            try require(child.range.lowerBound >= previousEnd && child.range.upperBound < range.upperBound,
                        "child range \(child.range) not inside \(range) after \(previousEnd)")
            previousEnd = child.range.upperBound
            try checkRanges(child, in: input)
        }
        if case .object(let object) = node.value {
            try require(object.range == range, "object range \(object.range) differs from its node's \(range)")
        }
    }

    /// A document of depth d is accepted with `maxDepth` d and refused with d - 1.
    static func checkDepth(_ root: JSONNode, _ input: [UInt8]) throws(PropertyViolation) {
        let depth = depth(of: root)
        guard case .success = parse(input, maxDepth: max(depth, 1)) else {
            throw PropertyViolation("a document of depth \(depth) is refused with maxDepth \(max(depth, 1))")
        }
        if depth > 1 {
            guard case .failure(let error) = parse(input, maxDepth: depth - 1), error.kind == .tooDeep else {
                throw PropertyViolation("a document of depth \(depth) is not refused as too deep with maxDepth \(depth - 1)")
            }
        }
    }

    /// Written compactly and read back, the value is the same; written again, so are the bytes.
    static func checkWriterRoundTrip(_ root: JSONNode) throws(PropertyViolation) {
        var writer = JSONWriter()
        write(root.value, to: &writer)
        let written = writer.bytes
        guard case .success(let reread) = parse(written) else {
            throw PropertyViolation("StrictJSON rejects the writer's output: \(String(describing: parse(written)))")
        }
        try require(identical(reread, root, shift: nil), "the writer's output reads back as another value")
        var again = JSONWriter()
        write(reread.value, to: &again)
        try require(again.bytes == written, "writing a value read from the writer's output gives other bytes")
    }

    /// Foundation accepts what the reader accepts and reads the same strings, numbers and shapes.
    ///
    /// Verified Foundation quirks: it rejects numbers beyond `Double`'s range ("not representable
    /// in Swift"), which RFC 8259 allows and the reader keeps as text, so those are replaced by `0`
    /// (through their ranges) before Foundation sees the input; it drops a U+FEFF written raw at
    /// the start of a string or key or right after an escape (an escaped one stays), so strings
    /// are also compared without any U+FEFF; and it merges keys that are equal
    /// under Unicode canonical equivalence, so objects whose keys collide in Foundation's
    /// spelling are not compared member by member.
    static func checkFoundation(_ root: JSONNode, _ input: [UInt8]) throws(PropertyViolation) {
        var overflowing: [Range<Int>] = []
        collectOverflowingNumbers(root, into: &overflowing)
        var adapted: [UInt8] = []
        var copied = 0
        for range in overflowing {
            adapted += input[copied..<range.lowerBound] + [UInt8(ascii: "0")]
            copied = range.upperBound
        }
        adapted += input[copied...]
        let theirs: Any
        do {
            theirs = try JSONSerialization.jsonObject(with: Data(adapted), options: [.fragmentsAllowed])
        } catch {
            throw PropertyViolation("Foundation rejects input that StrictJSON accepted: \(error)")
        }
        try compare(root.value, theirs, path: "$")
    }

    private static func compare(_ ours: JSONValue, _ theirs: Any, path: String) throws(PropertyViolation) {
        switch ours {
        case .null:
            try require(theirs is NSNull, "\(path): Foundation did not read null")
        case .bool(let value):
            try require((theirs as? NSNumber)?.boolValue == value, "\(path): Foundation read another boolean")
        case .number(let number):
            guard let theirs = theirs as? NSNumber else {
                throw PropertyViolation("\(path): Foundation did not read a number")
            }
            if let exact = number.int64Value {
                try require(theirs.int64Value == exact, "\(path): Foundation read another integer")
            } else if !number.isInteger, let value = number.doubleValue, !(theirs is NSDecimalNumber) {
                try require(theirs.doubleValue == value, "\(path): Foundation read another double")
            }
        case .string(let value):
            guard let theirs = theirs as? String else {
                throw PropertyViolation("\(path): Foundation did not read a string")
            }
            try require(value.unicodeScalars.elementsEqual(theirs.unicodeScalars)
                        || foundationSpelling(value).unicodeScalars.elementsEqual(foundationSpelling(theirs).unicodeScalars),
                        "\(path): Foundation read another string")
        case .array(let elements):
            guard let theirs = theirs as? [Any], theirs.count == elements.count else {
                throw PropertyViolation("\(path): Foundation did not read an array of \(elements.count)")
            }
            for (index, element) in elements.enumerated() {
                try compare(element.value, theirs[index], path: "\(path)[\(index)]")
            }
        case .object(let object):
            guard let theirs = theirs as? [String: Any] else {
                throw PropertyViolation("\(path): Foundation did not read an object")
            }
            guard Set(object.keys.map(foundationSpelling)).count == object.count else { return }
            try require(theirs.count == object.count, "\(path): Foundation read \(theirs.count) members, not \(object.count)")
            let bySpelling = Dictionary(theirs.map { (foundationSpelling($0.key), $0.value) }) { first, _ in first }
            for (index, member) in object.members.enumerated() {
                guard let value = bySpelling[foundationSpelling(member.key)] else {
                    throw PropertyViolation("\(path): Foundation lacks member \(index)")
                }
                try compare(member.node.value, value, path: "\(path).\(index)")
            }
        }
    }

    /// A string as Foundation may read it, less every U+FEFF.
    private static func foundationSpelling(_ string: String) -> String {
        var spelling = String.UnicodeScalarView()
        spelling.append(contentsOf: string.unicodeScalars.lazy.filter { $0 != "\u{FEFF}" })
        return String(spelling)
    }

    // MARK: Request decoding

    static func checkRequest(_ line: [UInt8]) throws(PropertyViolation) {
        let parsed = parse(line)
        try checkServerKeeping(line)
        let request: RPCRequest
        do throws(RPCRequest.Rejection) {
            request = try RPCRequest.decode(line)
        } catch {
            try checkRejection(error, of: line, parsed: parsed)
            return
        }
        guard case .success(let root) = parsed, case .object(let envelope) = root.value else {
            throw PropertyViolation("a request was decoded from a line that is not a JSON object")
        }
        try require(request.line == line, "the request does not keep its line")
        let idNode = envelope.node(forKey: "id")
        try require(request.id?.json == idNode.map { Array(line[$0.range]) }, "the id is not the id member's exact bytes")
        try require(request.isNotification == (idNode == nil), "a request is a notification exactly when it has no id")
        try checkResponseLine(RPCResponse.successLine(id: request.responseID) { $0.null() }, id: request.responseID, error: nil)
        try checkParams(AuthParams.self, request)
        try checkParams(AppendParams.self, request)
        try checkParams(ReadParams.self, request)
        try checkParams(ListParams.self, request)
        try checkParams(DeleteParams.self, request)
        try checkParams(SubjectParams.self, request)
        try checkParams(ReceiptParams.self, request)
        if let params = request.params {
            try checkVerbatim(params, line: line, request: request)
        }
    }

    /// The server's parse, which skims messages and metadata, decodes the line as the full parse
    /// does: the same rejection, or the same request and the same params or error for every
    /// params type.
    private static func checkServerKeeping(_ line: [UInt8]) throws(PropertyViolation) {
        let full = Result { () throws(RPCRequest.Rejection) in try RPCRequest.decode(line) }
        let skimmed = Result { () throws(RPCRequest.Rejection) in
            try RPCRequest.decode(line, keeping: RPCRequest.keeping(messagesPerAppend: 1000))
        }
        switch (full, skimmed) {
        case (.failure(let expected), .failure(let rejection)):
            try require(rejection == expected, "the server's parse rejects with \(rejection.error), the full one with \(expected.error)")
        case (.success(let expected), .success(let request)):
            try require(request.id == expected.id && request.method.utf8.elementsEqual(expected.method.utf8),
                        "the server's parse reads another id or method")
            try require(sameParams(AuthParams.self, request, expected), "AuthParams differ under the server's parse")
            try require(sameParams(AppendParams.self, request, expected), "AppendParams differ under the server's parse")
            try require(sameParams(ReadParams.self, request, expected), "ReadParams differ under the server's parse")
            try require(sameParams(ListParams.self, request, expected), "ListParams differ under the server's parse")
            try require(sameParams(DeleteParams.self, request, expected), "DeleteParams differ under the server's parse")
            try require(sameParams(SubjectParams.self, request, expected), "SubjectParams differ under the server's parse")
            try require(sameParams(ReceiptParams.self, request, expected), "ReceiptParams differ under the server's parse")
        default:
            throw PropertyViolation("the server's parse and the full one disagree on accepting the line")
        }
    }

    private static func sameParams<Params: RPCParams & Equatable>(_: Params.Type, _ a: RPCRequest, _ b: RPCRequest) -> Bool {
        let first = Result { () throws(RPCError) in try a.decodeParams(Params.self) }
        let second = Result { () throws(RPCError) in try b.decodeParams(Params.self) }
        return first == second
    }

    private static func checkRejection(
        _ rejection: RPCRequest.Rejection, of line: [UInt8], parsed: Result<JSONNode, JSONError>
    ) throws(PropertyViolation) {
        let code = rejection.error.code
        switch parsed {
        case .failure:
            try require(code == RPCError.Code.parseError && rejection.id.isNull, "a line StrictJSON rejects must be -32700 with id null")
        case .success(let root):
            try require([RPCError.Code.invalidRequest, RPCError.Code.invalidParams].contains(code), "a strict JSON line was rejected with \(code)")
            if !rejection.id.isNull {
                let idNode = root.value.objectValue?.node(forKey: "id")
                try require(idNode.map { Array(line[$0.range]) } == rejection.id.json, "the rejection's id is not the id member's exact bytes")
            }
        }
        if code == RPCError.Code.invalidParams {
            try require(rejection.error.field != nil, "-32602 without a field")
        }
        try checkResponseLine(rejection.responseLine, id: rejection.id, error: rejection.error)
    }

    /// A response is one line that a client decodes to the same id and error.
    private static func checkResponseLine(_ response: [UInt8], id: RPCID, error: RPCError?) throws(PropertyViolation) {
        try require(response.last == UInt8(ascii: "\n") && response.firstIndex(of: UInt8(ascii: "\n")) == response.count - 1,
                    "a response is not exactly one line")
        let decoded: RPCResponse
        do throws(RPCError) {
            decoded = try RPCResponse.decode(response)
        } catch {
            throw PropertyViolation("a client cannot decode the response line: \(error)")
        }
        try require(decoded.id == id, "the response does not echo the id")
        if let error {
            try require(decoded.outcome == .error(error), "the response carries another error")
        }
    }

    /// Params either fail with -32602 naming a field, or survive a client's encode and decode.
    private static func checkParams<Params: RPCParams & Equatable>(_ type: Params.Type, _ request: RPCRequest) throws(PropertyViolation) {
        let params: Params
        do throws(RPCError) {
            params = try request.decodeParams(Params.self)
        } catch {
            try require(error.code == RPCError.Code.invalidParams && error.name == "tvault.InvalidParams",
                        "\(Params.self) failed with \(error.code), not -32602")
            // The field may be "" when an unknown member has the empty key.
            try require(error.field.map { $0.utf8.count <= 64 } == true, "\(Params.self) error names no field of at most 64 bytes")
            return
        }
        let encoded = RPCRequest.encodeLine(id: request.id, method: request.method, params: params)
        let again: RPCRequest
        do throws(RPCRequest.Rejection) {
            again = try RPCRequest.decode(encoded)
        } catch {
            throw PropertyViolation("a client's encoding of \(Params.self) is rejected: \(error.error)")
        }
        try require(again.id == request.id && again.method.utf8.elementsEqual(request.method.utf8), "\(Params.self) encoding changed id or method")
        let decoded: Params
        do throws(RPCError) {
            decoded = try again.decodeParams(Params.self)
        } catch {
            throw PropertyViolation("a client's encoding of \(Params.self) fails to decode: \(error)")
        }
        try require(decoded == params, "\(Params.self) changed in an encode and decode")
    }

    /// Appended messages and metadata are the exact bytes of their values in the line.
    private static func checkVerbatim(_ params: JSONObject, line: [UInt8], request: RPCRequest) throws(PropertyViolation) {
        guard let append = try? request.decodeParams(AppendParams.self) else { return }
        let elements = params.node(forKey: "messages")?.value.arrayValue ?? []
        try require(append.messages.count == elements.count, "append kept \(append.messages.count) of \(elements.count) messages")
        var handedOut = zip(append.messages, elements).map { ($0, $1) }
        if let metadata = append.metadata, let node = params.node(forKey: "metadata") {
            handedOut.append((metadata, node))
        }
        for (bytes, node) in handedOut {
            try require(node.range.lowerBound >= 0 && node.range.upperBound <= line.count && bytes == Array(line[node.range]),
                        "a kept object is not the exact bytes of its range \(node.range)")
            guard case .success(let alone) = parse(bytes), case .object = alone.value,
                  identical(alone, node, shift: node.range.lowerBound) else {
                throw PropertyViolation("a kept object's bytes do not re-read to the same object")
            }
        }
    }

    // MARK: Helpers

    static func parse(
        _ bytes: [UInt8], maxDepth: Int = StrictJSON.defaultMaxDepth, keeping: StrictJSON.Keeping = .everything
    ) -> Result<JSONNode, JSONError> {
        Result { () throws(JSONError) in try StrictJSON(maxDepth: maxDepth, keeping: keeping).parse(bytes) }
    }

    private static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(PropertyViolation) {
        if !condition {
            throw PropertyViolation(message())
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func children(of node: JSONNode) -> [JSONNode] {
        switch node.value {
        case .array(let elements): elements
        case .object(let object): object.members.map(\.node)
        default: []
        }
    }

    private static func depth(of node: JSONNode) -> Int {
        switch node.value {
        case .array, .object: 1 + (children(of: node).map(depth(of:)).max() ?? 0)
        default: 0
        }
    }

    private static func collectOverflowingNumbers(_ node: JSONNode, into ranges: inout [Range<Int>]) {
        if case .number(let number) = node.value, number.doubleValue == nil {
            ranges.append(node.range)
        }
        for child in children(of: node) {
            collectOverflowingNumbers(child, into: &ranges)
        }
    }

    /// Byte-for-byte equality of two values (keys and strings as UTF-8, numbers as text, members
    /// in order); with a `shift`, `b`'s ranges must be `a`'s moved by it, else ranges are ignored.
    static func identical(_ a: JSONNode, _ b: JSONNode, shift: Int?) -> Bool {
        if let shift, a.range != (b.range.lowerBound - shift)..<(b.range.upperBound - shift) {
            return false
        }
        switch (a.value, b.value) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.text.utf8.elementsEqual(y.text.utf8) && x.isInteger == y.isInteger
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1, shift: shift) }
        case (.object(let x), .object(let y)):
            if let shift, x.range != (y.range.lowerBound - shift)..<(y.range.upperBound - shift) {
                return false
            }
            return x.count == y.count && zip(x.members, y.members).allSatisfy {
                $0.key.utf8.elementsEqual($1.key.utf8) && identical($0.node, $1.node, shift: shift)
            }
        default: return false
        }
    }

    static func write(_ value: JSONValue, to writer: inout JSONWriter) {
        switch value {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .number(let number): writer.number(number)
        case .string(let string): writer.string(string)
        case .array(let elements):
            writer.array { writer in
                for element in elements {
                    write(element.value, to: &writer)
                }
            }
        case .object(let object):
            writer.object { writer in
                for member in object.members {
                    writer.key(member.key)
                    write(member.node.value, to: &writer)
                }
            }
        }
    }
}

#if !TRANSCRIPT_FUZZ_HARNESS
@Suite("Fuzz corpus and regression inputs keep the reader's properties")
struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/fuzz")

    /// Every file of `Tools/fuzz/corpus` and `Tools/fuzz/regressions`, as `directory/name`.
    static let inputs: [String] = ["corpus", "regressions"].flatMap { directory in
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzzDirectory.appendingPathComponent(directory).path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(directory)/\($0)" }
    }

    @Test("the seed corpus is there and small")
    func corpusPresent() throws {
        let seeds = Self.inputs.filter { $0.hasPrefix("corpus/") }
        #expect(seeds.count >= 20)
        for seed in seeds {
            let size = try Data(contentsOf: Self.fuzzDirectory.appendingPathComponent(seed)).count
            #expect(size <= 4096, "\(seed) is longer than the fuzzer's -max_len")
        }
    }

    @Test("input keeps every property", arguments: inputs)
    func replay(_ name: String) throws {
        let input = Array(try Data(contentsOf: Self.fuzzDirectory.appendingPathComponent(name)))
        for target in FuzzProperties.Target.allCases {
            do throws(PropertyViolation) {
                try FuzzProperties.check(input, target)
            } catch {
                Issue.record("\(target): \(error)")
            }
        }
    }

    @Test("the checks catch a rejection that the input does not justify")
    func checksAreNotVacuous() {
        let input = Array(#"{"a":1}"#.utf8)
        for kind in [JSONError.Kind.invalidUTF8, .controlCharacter, .duplicateKey, .trailingBytes, .byteOrderMark] {
            #expect(throws: PropertyViolation.self) {
                try FuzzProperties.checkRejection(JSONError(kind, at: 2, "made up"), of: input)
            }
        }
        let node = JSONNode(value: .string("a"), range: 0..<3)
        #expect(!FuzzProperties.identical(node, JSONNode(value: .string("a"), range: 1..<4), shift: 0))
        #expect(!FuzzProperties.identical(node, JSONNode(value: .string("\u{61}\u{301}"), range: 0..<3), shift: nil))
    }
}
#endif
