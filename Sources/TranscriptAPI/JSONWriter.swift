/// Builds compact JSON as UTF-8 bytes.
///
/// Commas are placed automatically: every value written after another value at the same
/// level is preceded by one, and a value written right after ``key(_:)`` is not. The writer
/// trusts its caller to balance `begin`/`end` calls and to write a key before each value in
/// an object; the closure forms ``object(_:)`` and ``array(_:)`` keep that straight.
///
/// ```swift
/// var writer = JSONWriter()
/// writer.object { w in
///     w.member("role", "user")
///     w.key("content")
///     w.appendRaw(Array(#"[{"type":"text","text":"hi"}]"#.utf8))
/// }
/// writer.bytes  // {"role":"user","content":[{"type":"text","text":"hi"}]}
/// ```
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public internal(set) var bytes: [UInt8]

    /// Whether the next value needs a comma before it.
    private var needsComma = false

    /// Creates an empty writer.
    ///
    /// - Parameter capacity: Bytes to reserve up front.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    private mutating func beginValue() {
        if needsComma {
            bytes.append(UInt8(ascii: ","))
        }
        needsComma = true
    }

    /// Writes `{`; balance it with ``endObject()``.
    public mutating func beginObject() {
        beginValue()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Writes `}`.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `[`; balance it with ``endArray()``.
    public mutating func beginArray() {
        beginValue()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Writes `]`.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object whose members `body` writes.
    ///
    /// - Parameter body: Writes keys and values into the object.
    public mutating func object<E: Error>(_ body: (inout JSONWriter) throws(E) -> Void) throws(E) {
        beginObject()
        try body(&self)
        endObject()
    }

    /// Writes an array whose elements `body` writes.
    ///
    /// - Parameter body: Writes the elements.
    public mutating func array<E: Error>(_ body: (inout JSONWriter) throws(E) -> Void) throws(E) {
        beginArray()
        try body(&self)
        endArray()
    }

    /// Writes an object key and the colon; the next call writes its value.
    ///
    /// - Parameter key: The key, escaped as needed.
    public mutating func key(_ key: String) {
        beginValue()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a string value, escaping `"`, `\` and control characters.
    ///
    /// - Parameter value: The string; Swift strings are valid Unicode, so the output is
    ///   valid UTF-8.
    public mutating func string(_ value: String) {
        beginValue()
        appendQuoted(value)
    }

    /// Writes a signed integer.
    public mutating func number(_ value: Int64) {
        beginValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes an integer.
    public mutating func number(_ value: Int) {
        number(Int64(value))
    }

    /// Writes an unsigned integer.
    public mutating func number(_ value: UInt64) {
        beginValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a number exactly as spelled in its text.
    public mutating func number(_ value: JSONNumber) {
        beginValue()
        bytes.append(contentsOf: value.text.utf8)
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        beginValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Writes `null`.
    public mutating func null() {
        beginValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Splices a complete JSON value into the output byte for byte.
    ///
    /// This is how stored messages go back to clients unchanged. The bytes are not checked:
    /// pass only bytes that ``StrictJSON`` accepted (or that this writer produced).
    ///
    /// - Parameter json: One complete JSON value.
    public mutating func appendRaw(_ json: [UInt8]) {
        beginValue()
        bytes.append(contentsOf: json)
    }

    /// Splices a complete JSON value into the output byte for byte.
    ///
    /// - Parameter json: One complete JSON value, which must be valid strict JSON.
    public mutating func appendRaw(_ json: UnsafeRawBufferPointer) {
        beginValue()
        bytes.append(contentsOf: json)
    }

    /// Appends a newline, which ends a line of the socket protocol; not a JSON value.
    public mutating func appendNewline() {
        bytes.append(UInt8(ascii: "\n"))
    }
}
