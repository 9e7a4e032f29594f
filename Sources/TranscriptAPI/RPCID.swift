/// A JSON-RPC request id, kept as the exact JSON text the client sent.
///
/// The server echoes ids back byte for byte, so `1.50`, `"\u00e9"` and very long numbers
/// come back exactly as written and clients can match responses however they like.
///
/// ```swift
/// RPCID(7).json           // Array("7".utf8)
/// RPCID("req-1").json     // Array(#""req-1""#.utf8)
/// RPCID.null.json         // Array("null".utf8)
/// ```
public struct RPCID: Sendable, Hashable, CustomStringConvertible {
    /// The id's JSON text: a string, a number or `null`.
    public let json: [UInt8]

    /// Wraps JSON text that the strict parser accepted as a string, number or `null`.
    init(validatedJSON json: [UInt8]) {
        self.json = json
    }

    /// The `null` id, used in responses to requests whose id could not be read.
    public static let null = RPCID(validatedJSON: Array("null".utf8))

    /// An integer id.
    ///
    /// - Parameter value: The id.
    public init(_ value: Int64) {
        json = Array(String(value).utf8)
    }

    /// A string id, JSON-escaped as needed.
    ///
    /// - Parameter value: The id.
    public init(_ value: String) {
        var writer = JSONWriter(capacity: value.utf8.count + 2)
        writer.string(value)
        json = writer.bytes
    }

    /// Reads an id from a parsed value.
    ///
    /// - Parameters:
    ///   - node: The `id` member's value.
    ///   - input: The bytes it was parsed from.
    /// - Returns: The id, or `nil` when the value is not a string, number or `null`.
    static func from(_ node: JSONNode, in input: UnsafeRawBufferPointer) -> RPCID? {
        switch node.value {
        case .string, .number, .null: RPCID(validatedJSON: node.bytes(in: input))
        case .bool, .array, .object: nil
        }
    }

    /// Whether this is the `null` id.
    public var isNull: Bool { json == RPCID.null.json }

    /// The id's JSON text.
    public var description: String { String(decoding: json, as: UTF8.self) }
}
