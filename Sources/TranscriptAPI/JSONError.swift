/// Why a byte sequence is not strict RFC 8259 JSON, and where.
///
/// Messages name the problem and at most one offending byte (in hex, or for an invalid escape
/// the printable ASCII letter after the backslash); they never echo the input beyond that
/// byte, which may hold a client's confidential content.
///
/// ```swift
/// do {
///     _ = try StrictJSON().parse(Array(#"{"a":1,"a":2}"#.utf8))
/// } catch {
///     error.kind    // .duplicateKey
///     error.offset  // 7
/// }
/// ```
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of strictness violation.
    public enum Kind: Sendable, Equatable, CaseIterable {
        /// The input ended before the value was complete (includes empty input).
        case unexpectedEnd
        /// A byte that cannot start or continue a value at this place.
        case unexpectedByte
        /// A misspelled `true`, `false` or `null` (also `NaN`, `Infinity`).
        case invalidLiteral
        /// A number that breaks the grammar (leading zeros, `1.`, `-`, `+1`).
        case invalidNumber
        /// A backslash escape that JSON does not define, or a malformed `\u` escape.
        case invalidEscape
        /// A `\u` escape of a surrogate that is not half of a valid pair.
        case loneSurrogate
        /// A string byte sequence that is not well-formed UTF-8.
        case invalidUTF8
        /// An unescaped control character (below U+0020) in a string.
        case controlCharacter
        /// An object key that already appeared in the same object.
        case duplicateKey
        /// A comma directly before `]` or `}`.
        case trailingComma
        /// Arrays and objects nested deeper than the parser's maximum depth.
        case tooDeep
        /// Bytes other than JSON whitespace after the value.
        case trailingBytes
        /// A UTF-8 byte order mark before the value.
        case byteOrderMark
        /// More values than the parser keeps (``StrictJSON/Keeping/values``): the document is
        /// valid JSON, but too large to take in.
        case tooManyValues
    }

    /// What is wrong.
    public let kind: Kind

    /// The byte offset in the input where the problem was found.
    public let offset: Int

    /// A readable explanation, without input content.
    public let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - kind: What is wrong.
    ///   - offset: Where, as a byte offset into the input.
    ///   - message: A readable explanation, which must not quote the input.
    public init(_ kind: Kind, at offset: Int, _ message: String) {
        self.kind = kind
        self.offset = offset
        self.message = message
    }

    /// The message and the offset, for logs and error responses.
    public var description: String {
        "\(message) at byte \(offset)"
    }

    /// An error for a byte that does not belong where it is, naming it in hex.
    static func unexpected(_ byte: UInt8, at offset: Int, expected: String) -> JSONError {
        JSONError(.unexpectedByte, at: offset, "unexpected byte \(hex(byte)), expected \(expected)")
    }

    /// `0x` and two hex digits.
    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [UInt8(ascii: "0"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }
}
