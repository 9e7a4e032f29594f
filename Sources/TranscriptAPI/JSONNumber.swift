/// A JSON number, kept exactly as it was spelled in the input.
///
/// Numbers are never converted on the way through the store: `1.0` stays `1.0` and a
/// 300-digit integer keeps all of its digits. Conversions are explicit and lossless-or-nil.
///
/// ```swift
/// let number = JSONNumber(42)
/// number.text        // "42"
/// number.int64Value  // 42
/// ```
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's JSON text, exactly as written (for example `-0`, `1.0`, `2.5E+10`).
    public let text: String

    /// Whether the text has integer syntax: no fraction and no exponent.
    public let isInteger: Bool

    /// Creates a number from text that the parser has already checked against RFC 8259.
    init(validatedText text: String, isInteger: Bool) {
        self.text = text
        self.isInteger = isInteger
    }

    /// Creates a number from a signed integer.
    ///
    /// - Parameter value: The value; its decimal spelling becomes ``text``.
    public init(_ value: Int64) {
        self.init(validatedText: String(value), isInteger: true)
    }

    /// Creates a number from an integer.
    ///
    /// - Parameter value: The value; its decimal spelling becomes ``text``.
    public init(_ value: Int) {
        self.init(Int64(value))
    }

    /// Creates a number from an unsigned integer.
    ///
    /// - Parameter value: The value; its decimal spelling becomes ``text``.
    public init(_ value: UInt64) {
        self.init(validatedText: String(value), isInteger: true)
    }

    /// Creates a number from a finite double.
    ///
    /// Uses Swift's shortest round-tripping spelling, which is valid JSON for finite values.
    ///
    /// - Parameter value: A finite value; infinities and NaN have no JSON spelling and trap.
    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no spelling for \(value)")
        let text = value.description
        let isInteger = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }
        self.init(validatedText: text, isInteger: isInteger)
    }

    /// The value as a signed 64-bit integer.
    ///
    /// `nil` when the text has a fraction or an exponent (even `1.0` or `1e2`), or when the
    /// integer does not fit in `Int64`. `-0` is `0`.
    public var int64Value: Int64? {
        isInteger ? Int64(text) : nil
    }

    /// The value as the nearest double.
    ///
    /// `nil` when the magnitude is too large for a finite `Double` (for example `1e400`);
    /// very small magnitudes round to zero, and long integers lose precision.
    public var doubleValue: Double? {
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The number's JSON text.
    public var description: String { text }
}
