/// The iterative parser behind ``StrictJSON``.
///
/// Open arrays and objects live on an explicit stack of ``Frame``s rather than on the call
/// stack, so hostile nesting costs one frame per level up to the limit and no more.
///
/// Values inside a container that is not kept (``StrictJSON/Keeping``) are checked by the same
/// code but skimmed: strings and numbers are validated without being copied out, and nothing
/// is appended to the frame but its keys, which duplicate-key detection needs.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    let keeping: StrictJSON.Keeping
    var position = 0
    /// Values appended to kept containers so far.
    private var keptValues = 0
    /// Where the first value past ``StrictJSON/Keeping/values`` starts, once there is one. The
    /// parse then keeps nothing more but goes on checking, so that a document that is not
    /// strict JSON gets its own error wherever it is, and only a valid one `.tooManyValues`.
    private var firstValuePastLimit: Int?

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int, keeping: StrictJSON.Keeping = .everything) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.keeping = keeping
    }

    /// An array or object whose closing bracket has not been read yet.
    struct Frame {
        let isObject: Bool
        let start: Int
        /// Whether its elements or members are kept; if not, it finishes empty.
        var keeps: Bool
        var elements: [JSONNode] = []
        var keys = KeyTable()
        var members: [JSONObject.Member] = []
        var pendingKey = ""

        mutating func appendMember(_ node: JSONNode) {
            guard keeps else { return }
            // Room for a request's or a message's members at once, not grown 1, 2, 4, 8.
            if members.isEmpty { members.reserveCapacity(Self.firstCapacity) }
            members.append(JSONObject.Member(key: pendingKey, node: node))
        }

        mutating func appendElement(_ node: JSONNode) {
            guard keeps else { return }
            if elements.isEmpty { elements.reserveCapacity(Self.firstCapacity) }
            elements.append(node)
        }

        /// The room a container's first member or element reserves.
        static let firstCapacity = 8

        /// Lets go of what it kept and keeps nothing more: the value limit is passed.
        mutating func stopKeeping() {
            keeps = false
            elements = []
            members = []
        }

        func finish(end: Int) -> JSONNode {
            let range = start..<end
            if isObject {
                return JSONNode(value: .object(JSONObject(members: members, range: range)), range: range)
            }
            return JSONNode(value: .array(elements), range: range)
        }
    }

    mutating func parseDocument() throws(JSONError) -> JSONNode {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw JSONError(.byteOrderMark, at: 0, "byte order mark before the value")
        }
        skipWhitespace()
        if position == bytes.count {
            throw JSONError(.unexpectedEnd, at: position, "no value in the input")
        }
        var stack: [Frame] = []
        // A request is three levels deep (request, params, messages) and a message often more.
        stack.reserveCapacity(8)
        var node: JSONNode
        parsing: while true {
            // Whether the value starting here goes into a container that keeps it.
            let kept = stack.last?.keeps ?? true
            // A value starts here; whitespace before it has been skipped.
            guard position < bytes.count else {
                throw JSONError(.unexpectedEnd, at: position, "input ended where a value was expected")
            }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else {
                    throw JSONError(.tooDeep, at: position, "nesting deeper than \(maxDepth)")
                }
                let isObject = byte == UInt8(ascii: "{")
                let depth = stack.count + 1
                let keeps = kept && depth <= (isObject ? keeping.objectDepth : keeping.arrayDepth)
                var frame = Frame(isObject: isObject, start: position, keeps: keeps)
                position += 1
                skipWhitespace()
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if position < bytes.count, bytes[position] == close {
                    position += 1
                    node = frame.finish(end: position)
                } else {
                    if isObject { try readKey(into: &frame) }
                    stack.append(frame)
                    continue parsing
                }
            case UInt8(ascii: "\""):
                let start = position
                if kept {
                    let string = try parseString()
                    node = JSONNode(value: .string(string), range: start..<position)
                } else {
                    try skipString()
                    node = JSONNode(value: .null, range: start..<position)
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = position
                if kept {
                    let number = try parseNumber()
                    node = JSONNode(value: .number(number), range: start..<position)
                } else {
                    _ = try scanNumber()
                    node = JSONNode(value: .null, range: start..<position)
                }
            case UInt8(ascii: "t"):
                node = try parseLiteral("true", .bool(true))
            case UInt8(ascii: "f"):
                node = try parseLiteral("false", .bool(false))
            case UInt8(ascii: "n"):
                node = try parseLiteral("null", .null)
            case UInt8(ascii: "N"), UInt8(ascii: "I"):
                throw JSONError(.invalidLiteral, at: position, "NaN and Infinity are not JSON")
            default:
                throw JSONError.unexpected(byte, at: position, expected: "a value")
            }
            // A value is complete: attach it to the open container and close what ends here.
            while let top = stack.indices.last {
                skipWhitespace()
                guard position < bytes.count else {
                    throw JSONError(.unexpectedEnd, at: position, "input ended inside \(stack[top].isObject ? "an object" : "an array")")
                }
                let byte = bytes[position]
                if stack[top].keeps {
                    keptValues += 1
                    if keptValues > keeping.values {
                        // Refused once the rest is checked; until then every frame skims.
                        firstValuePastLimit = node.range.lowerBound
                        for index in stack.indices { stack[index].stopKeeping() }
                    }
                }
                if stack[top].isObject {
                    stack[top].appendMember(node)
                    if byte == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                        try readKey(into: &stack[top])
                        continue parsing
                    }
                    guard byte == UInt8(ascii: "}") else {
                        throw JSONError.unexpected(byte, at: position, expected: "',' or '}'")
                    }
                } else {
                    stack[top].appendElement(node)
                    if byte == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                            throw JSONError(.trailingComma, at: position, "trailing comma before ']'")
                        }
                        continue parsing
                    }
                    guard byte == UInt8(ascii: "]") else {
                        throw JSONError.unexpected(byte, at: position, expected: "',' or ']'")
                    }
                }
                position += 1
                node = stack[top].finish(end: position)
                stack.removeLast()
            }
            break parsing
        }
        skipWhitespace()
        if position != bytes.count {
            throw JSONError(.trailingBytes, at: position, "unexpected bytes after the value")
        }
        if let firstValuePastLimit {
            throw JSONError(.tooManyValues, at: firstValuePastLimit, "more than \(keeping.values) values")
        }
        return node
    }

    /// Reads `"key"` and `:` and the whitespace after it, leaving the key pending in `frame`.
    private mutating func readKey(into frame: inout Frame) throws(JSONError) {
        guard position < bytes.count else {
            throw JSONError(.unexpectedEnd, at: position, "input ended where a key was expected")
        }
        let byte = bytes[position]
        if byte == UInt8(ascii: "}"), !frame.keys.isEmpty {
            throw JSONError(.trailingComma, at: position, "trailing comma before '}'")
        }
        guard byte == UInt8(ascii: "\"") else {
            throw JSONError.unexpected(byte, at: position, expected: "a string key")
        }
        let keyStart = position
        let key = try parseString()
        guard frame.keys.insert(key) else {
            throw JSONError(.duplicateKey, at: keyStart, "duplicate key in object")
        }
        skipWhitespace()
        guard position < bytes.count else {
            throw JSONError(.unexpectedEnd, at: position, "input ended where ':' was expected")
        }
        guard bytes[position] == UInt8(ascii: ":") else {
            throw JSONError.unexpected(bytes[position], at: position, expected: "':'")
        }
        position += 1
        skipWhitespace()
        frame.pendingKey = key
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONNode {
        let start = position
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else {
            throw JSONError(.invalidLiteral, at: start, "invalid literal")
        }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
        for index in 0..<count where bytes[position + index] != expected[index] {
            throw JSONError(.invalidLiteral, at: start, "invalid literal")
        }
        position += count
        return JSONNode(value: value, range: start..<position)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }
}
