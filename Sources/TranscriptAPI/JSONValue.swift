/// A JSON value as defined by RFC 8259.
///
/// Strings are held as Swift strings (always valid Unicode, since the parser rejects anything
/// else); numbers keep their original text; children of arrays and objects are ``JSONNode``s,
/// so every value in a document knows where its bytes are.
///
/// ```swift
/// let root = try StrictJSON().parse(Array(#"{"n":[1,2]}"#.utf8))
/// root.value.objectValue?["n"]?.arrayValue?.count  // 2
/// ```
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, kept as written.
    case number(JSONNumber)
    /// A string, with escapes resolved.
    case string(String)
    /// An array of values in order.
    case array([JSONNode])
    /// An object with its members in input order.
    case object(JSONObject)

    /// Whether the value is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The boolean, if the value is one.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number, if the value is one.
    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The string, if the value is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements, if the value is an array.
    public var arrayValue: [JSONNode]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, if the value is one.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// A short name of the value's type, for error messages (`"string"`, `"object"`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
