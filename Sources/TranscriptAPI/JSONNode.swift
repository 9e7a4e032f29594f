/// A parsed JSON value together with the bytes it was parsed from.
///
/// The range lets a caller take the original bytes of any value without re-encoding it,
/// which is how the store keeps client messages verbatim.
///
/// ```swift
/// let line = Array(#"{"messages":[{"role":"user","n":1.0}]}"#.utf8)
/// let root = try StrictJSON().parse(line)
/// let message = root.value.objectValue?.node(forKey: "messages")?.value.arrayValue?.first
/// Array(line[message!.range])  // {"role":"user","n":1.0}
/// ```
///
/// Equality compares both the value and the range.
public struct JSONNode: Sendable, Equatable {
    /// The value.
    public let value: JSONValue

    /// The value's byte offsets in the parsed input, from its first byte to just after its
    /// last; surrounding whitespace is not included.
    public let range: Range<Int>

    /// Creates a node.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - range: Where the value's bytes are in the input.
    public init(value: JSONValue, range: Range<Int>) {
        self.value = value
        self.range = range
    }

    /// Copies the node's original bytes out of the input it was parsed from.
    ///
    /// - Parameter input: The exact buffer that was parsed.
    /// - Returns: The bytes of this value, unchanged.
    public func bytes(in input: [UInt8]) -> [UInt8] {
        Array(input[range])
    }

    /// Copies the node's original bytes out of the input it was parsed from.
    ///
    /// - Parameter input: The exact buffer that was parsed.
    /// - Returns: The bytes of this value, unchanged.
    public func bytes(in input: UnsafeRawBufferPointer) -> [UInt8] {
        Array(input[range])
    }
}
