/// Reads and checks the members of a `params` object (server side) or a result object
/// (client side).
///
/// For params, construction rejects unknown members and every failure is -32602 naming the
/// member. For results, unknown members are ignored (newer servers may add some) and a
/// failure is -32603 "malformed result" naming the member. `null` is treated as absent.
struct MemberReader {
    let object: JSONObject?
    let line: [UInt8]
    let isResult: Bool

    /// A reader for a method's params.
    ///
    /// - Parameters:
    ///   - object: The `params` object, or `nil` when absent.
    ///   - line: The bytes it was parsed from.
    ///   - allowed: The member names the method accepts.
    /// - Throws: ``RPCError`` -32602 naming the first unknown member.
    init(_ object: JSONObject?, line: [UInt8], allowed: [String]) throws(RPCError) {
        self.object = object
        self.line = line
        isResult = false
        for member in object?.members ?? [] where !allowed.contains(where: { member.key.hasSameUTF8(as: $0) }) {
            throw .invalidParams(field: WireRules.fieldName(member.key), "unknown parameter")
        }
    }

    /// A reader for a result object (or an object nested in one).
    ///
    /// - Parameters:
    ///   - node: The value that must be an object.
    ///   - line: The bytes it was parsed from.
    ///   - field: The name to report if it is not an object.
    /// - Throws: ``RPCError`` -32603 when `node` is not an object.
    init(result node: JSONNode, line: [UInt8], field: String = "result") throws(RPCError) {
        guard case .object(let object) = node.value else {
            throw Self.malformed(field, "must be an object")
        }
        self.object = object
        self.line = line
        isResult = true
    }

    private static func malformed(_ field: String, _ message: String) -> RPCError {
        RPCError(code: RPCError.Code.internal, message: "malformed result: \(message)", name: "tvault.Internal", field: field)
    }

    /// The error for a bad member, -32602 for params and -32603 for results.
    func invalid(_ field: String, _ message: String) -> RPCError {
        isResult ? Self.malformed(field, message) : .invalidParams(field: field, message)
    }

    /// The member's node, or `nil` when absent or `null`.
    func node(_ name: String) -> JSONNode? {
        guard let node = object?.node(forKey: name), !node.value.isNull else { return nil }
        return node
    }

    /// Unwraps a required member.
    func required<Value>(_ value: Value?, _ name: String) throws(RPCError) -> Value {
        guard let value else {
            throw invalid(name, isResult ? "missing required member" : "missing required parameter")
        }
        return value
    }

    /// A string member.
    func string(_ name: String) throws(RPCError) -> String? {
        guard let node = node(name) else { return nil }
        guard case .string(let value) = node.value else {
            throw invalid(name, "must be a string")
        }
        return value
    }

    /// A string member of at most `maxBytes` UTF-8 bytes, not empty.
    func boundedString(_ name: String, maxBytes: Int) throws(RPCError) -> String? {
        guard let value = try string(name) else { return nil }
        guard !value.isEmpty, value.utf8.count <= maxBytes else {
            throw invalid(name, "must be a non-empty string of at most \(maxBytes) bytes")
        }
        return value
    }

    /// A client identifier: a non-empty string of at most 256 UTF-8 bytes.
    func identifier(_ name: String) throws(RPCError) -> String? {
        try boundedString(name, maxBytes: WireRules.maxIdentifierBytes)
    }

    /// The optional `tenant` member, checked against the tenant name rule.
    func tenant() throws(RPCError) -> String? {
        guard let value = try string("tenant") else { return nil }
        guard WireRules.isValidTenant(value) else {
            throw invalid("tenant", "must match [a-z0-9][a-z0-9-]{0,62}")
        }
        return value
    }

    /// An integer member in `range`; fractions, exponents and out-of-range values are rejected.
    func integer(_ name: String, in range: ClosedRange<Int64>) throws(RPCError) -> Int64? {
        guard let node = node(name) else { return nil }
        guard case .number(let number) = node.value, let value = number.int64Value else {
            throw invalid(name, "must be an integer")
        }
        guard range.contains(value) else {
            throw invalid(name, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// An RFC 3339 UTC timestamp member, as milliseconds since the Unix epoch.
    func timestamp(_ name: String) throws(RPCError) -> Int64? {
        guard let value = try string(name) else { return nil }
        do {
            return try RFC3339.parse(value)
        } catch {
            throw invalid(name, "must be an RFC 3339 UTC timestamp: \(error.message)")
        }
    }

    /// The exact bytes of an object member.
    func rawObject(_ name: String) throws(RPCError) -> [UInt8]? {
        guard let node = node(name) else { return nil }
        guard case .object = node.value else {
            throw invalid(name, "must be an object")
        }
        return node.bytes(in: line)
    }

    /// The elements of an array member.
    func array(_ name: String) throws(RPCError) -> [JSONNode]? {
        guard let node = node(name) else { return nil }
        guard case .array(let elements) = node.value else {
            throw invalid(name, "must be an array")
        }
        return elements
    }

    /// An unsigned integer member (sequence numbers, counts).
    func unsigned(_ name: String) throws(RPCError) -> UInt64? {
        guard let node = node(name) else { return nil }
        guard case .number(let number) = node.value, number.isInteger, let value = UInt64(number.text) else {
            throw invalid(name, "must be a non-negative integer")
        }
        return value
    }

    /// An array of strings.
    func strings(_ name: String) throws(RPCError) -> [String]? {
        guard let elements = try array(name) else { return nil }
        var strings: [String] = []
        for element in elements {
            guard case .string(let value) = element.value else {
                throw invalid(name, "must be an array of strings")
            }
            strings.append(value)
        }
        return strings
    }

    /// A reader for a nested object member of a result.
    func nested(_ name: String) throws(RPCError) -> MemberReader? {
        guard let node = node(name) else { return nil }
        return try MemberReader(result: node, line: line, field: name)
    }

    /// Readers for each object in an array member of a result.
    func nestedArray(_ name: String) throws(RPCError) -> [MemberReader]? {
        guard let elements = try array(name) else { return nil }
        var readers: [MemberReader] = []
        readers.reserveCapacity(elements.count)
        for element in elements {
            readers.append(try MemberReader(result: element, line: line, field: name))
        }
        return readers
    }
}
