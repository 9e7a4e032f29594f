/// A JSON object: its members in input order and the byte range it was parsed from.
///
/// The parser guarantees that keys are unique. Keys are compared byte for byte (as UTF-8),
/// not by Unicode canonical equivalence as Swift's `String ==` would: `"é"` and `"e\u0301"`
/// are different keys, as RFC 8259 has it.
///
/// ```swift
/// let root = try StrictJSON().parse(Array(#"{"role":"user"}"#.utf8))
/// root.value.objectValue?["role"]?.stringValue  // "user"
/// ```
public struct JSONObject: Sendable, Equatable {
    /// One `"key": value` pair.
    public struct Member: Sendable, Equatable {
        /// The key, with escapes resolved.
        public let key: String
        /// The value and its byte range.
        public let node: JSONNode

        /// Creates a member.
        ///
        /// - Parameters:
        ///   - key: The key.
        ///   - node: The value and where its bytes are.
        public init(key: String, node: JSONNode) {
            self.key = key
            self.node = node
        }
    }

    /// The members in the order they appeared in the input.
    public let members: [Member]

    /// The object's byte offsets in the parsed input, from `{` to just after `}`.
    public let range: Range<Int>

    /// Creates an object.
    ///
    /// - Parameters:
    ///   - members: The members; the caller keeps keys unique.
    ///   - range: Where the object's bytes are in the input.
    public init(members: [Member], range: Range<Int>) {
        self.members = members
        self.range = range
    }

    /// The number of members.
    public var count: Int { members.count }

    /// The keys in input order.
    public var keys: [String] { members.map(\.key) }

    /// The value for a key, or `nil` when the object has no such key.
    ///
    /// A linear search: objects on the request path are small. Use ``members`` to walk a
    /// large one.
    public subscript(key: String) -> JSONValue? {
        node(forKey: key)?.value
    }

    /// The value and byte range for a key, or `nil` when the object has no such key.
    ///
    /// - Parameter key: The key, compared byte for byte.
    /// - Returns: The member's node.
    public func node(forKey key: String) -> JSONNode? {
        for member in members where member.key.hasSameUTF8(as: key) {
            return member.node
        }
        return nil
    }
}
