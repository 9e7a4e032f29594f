/// A strict RFC 8259 JSON parser over bytes.
///
/// It accepts exactly one JSON value surrounded by optional JSON whitespace (space, tab, CR,
/// LF) and rejects, rather than repairs, everything else: duplicate keys, trailing commas,
/// invalid UTF-8 (overlong forms, encoded surrogates, code points above U+10FFFF), `\u`
/// escapes of unpaired surrogates, unescaped control characters in strings, leading zeros,
/// `NaN` and `Infinity`, single quotes, comments, a byte order mark, and nesting deeper than
/// ``maxDepth``. Foundation's `JSONDecoder` accepts several of these; the store must not.
///
/// Every value comes back as a ``JSONNode`` carrying its byte range, so callers can keep
/// the exact bytes a client sent. Parsing is iterative: depth is checked before descending
/// and the call stack does not grow with nesting.
///
/// ```swift
/// let parser = StrictJSON(maxDepth: 64)
/// let root = try parser.parse(Array(#"{"jsonrpc":"2.0","method":"system.info","id":1}"#.utf8))
/// root.value.objectValue?["method"]?.stringValue  // "system.info"
/// ```
public struct StrictJSON: Sendable {
    /// The default maximum nesting depth, as in the socket API's limits.
    public static let defaultMaxDepth = 64

    /// The deepest nesting of arrays and objects accepted; `[]` has depth 1, `[[]]` depth 2.
    public let maxDepth: Int

    /// Creates a parser.
    ///
    /// - Parameter maxDepth: The deepest nesting accepted, at least 1; scalars at the top
    ///   level have depth 0 and are always accepted.
    public init(maxDepth: Int = StrictJSON.defaultMaxDepth) {
        precondition(maxDepth >= 1, "maxDepth must be at least 1")
        self.maxDepth = maxDepth
    }

    /// Parses one JSON document.
    ///
    /// - Parameter bytes: The document; ranges in the result are offsets into it.
    /// - Returns: The top-level value with its range.
    /// - Throws: ``JSONError`` at the first strictness violation.
    public func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONNode {
        let result: Result<JSONNode, JSONError> = bytes.withUnsafeBytes { buffer in
            parseResult(buffer)
        }
        return try result.get()
    }

    /// Parses one JSON document from borrowed memory, for callers that hold a network buffer.
    ///
    /// The result does not point into `buffer`; it is safe to keep after the buffer is gone.
    ///
    /// - Parameter buffer: The document; ranges in the result are offsets into it.
    /// - Returns: The top-level value with its range.
    /// - Throws: ``JSONError`` at the first strictness violation.
    public func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONError) -> JSONNode {
        try parseResult(buffer).get()
    }

    private func parseResult(_ buffer: UnsafeRawBufferPointer) -> Result<JSONNode, JSONError> {
        var parser = JSONParser(buffer, maxDepth: maxDepth)
        do throws(JSONError) {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}
