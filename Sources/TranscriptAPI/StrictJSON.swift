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

    /// Which values the parse keeps in the tree it returns.
    public let keeping: Keeping

    /// Which values a parse keeps: every value is checked as strictly, but one that is not kept
    /// costs no memory once it is checked.
    ///
    /// An array or object nested deeper than its limit comes back as a node with its kind and
    /// range but no contents (`.array([])`, or an object without members): only its bytes are
    /// meant to be used. This bounds what a request line costs to parse when the caller keeps
    /// the bytes of some values without looking inside them, such as the socket API's messages.
    ///
    /// ```swift
    /// // Keep the envelope and params objects and the messages array; skim each message.
    /// let keeping = StrictJSON.Keeping(objectDepth: 2, arrayDepth: 3, values: 65_536)
    /// ```
    public struct Keeping: Sendable, Equatable {
        /// Objects at this depth or shallower keep their members; the top level is depth 1.
        public var objectDepth: Int
        /// Arrays at this depth or shallower keep their elements.
        public var arrayDepth: Int
        /// The most values kept in all (members and elements, the top-level value not counted);
        /// a document that would keep more is refused with ``JSONError/Kind/tooManyValues``
        /// if it is strict JSON, else with its own error: past the limit nothing more is kept,
        /// but the rest of the document is still checked.
        public var values: Int

        /// Creates a policy; see the properties.
        public init(objectDepth: Int, arrayDepth: Int, values: Int) {
            self.objectDepth = objectDepth
            self.arrayDepth = arrayDepth
            self.values = values
        }

        /// Keeps every value of the document.
        public static let everything = Keeping(objectDepth: .max, arrayDepth: .max, values: .max)
    }

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - maxDepth: The deepest nesting accepted, at least 1; scalars at the top level have
    ///     depth 0 and are always accepted.
    ///   - keeping: Which values the result keeps; by default all of them.
    public init(maxDepth: Int = StrictJSON.defaultMaxDepth, keeping: Keeping = .everything) {
        precondition(maxDepth >= 1, "maxDepth must be at least 1")
        self.maxDepth = maxDepth
        self.keeping = keeping
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
        var parser = JSONParser(buffer, maxDepth: maxDepth, keeping: keeping)
        do throws(JSONError) {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}
