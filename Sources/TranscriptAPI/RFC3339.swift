/// RFC 3339 UTC timestamps, the API's only time format.
///
/// Formatting always writes milliseconds and `Z` (`2026-03-01T12:00:00.250Z`). Parsing accepts
/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits (truncated to milliseconds),
/// and `Z`; `T` and `Z` may be lower case as RFC 3339 allows. Offsets other than `Z`, leap
/// seconds, and dates that do not exist are rejected.
///
/// ```swift
/// let ms = try RFC3339.parse("1970-01-01T00:00:01.5Z")  // 1500
/// RFC3339.format(milliseconds: ms)                      // "1970-01-01T00:00:01.500Z"
/// ```
public enum RFC3339 {
    /// Why a string is not an accepted RFC 3339 UTC timestamp.
    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        /// A readable explanation.
        public let message: String

        /// The explanation.
        public var description: String { message }
    }

    /// The earliest representable time, `0000-01-01T00:00:00.000Z`, in milliseconds.
    public static let minMilliseconds: Int64 = -62_167_219_200_000

    /// The latest representable time, `9999-12-31T23:59:59.999Z`, in milliseconds.
    public static let maxMilliseconds: Int64 = 253_402_300_799_999

    /// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    ///
    /// - Parameter milliseconds: The time; values outside ``minMilliseconds`` …
    ///   ``maxMilliseconds`` are clamped to that range, since RFC 3339 has four-digit years.
    /// - Returns: The timestamp.
    public static func format(milliseconds: Int64) -> String {
        let clamped = min(max(milliseconds, minMilliseconds), maxMilliseconds)
        let days = floorDivide(clamped, 86_400_000)
        let msOfDay = clamped - days * 86_400_000
        let (year, month, day) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendDigits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, 2, &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(msOfDay / 3_600_000, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(msOfDay / 60_000 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(msOfDay / 1000 % 60, 2, &out)
        out.append(UInt8(ascii: "."))
        appendDigits(msOfDay % 1000, 3, &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses an RFC 3339 UTC timestamp into milliseconds since the Unix epoch.
    ///
    /// - Parameter text: For example `2026-01-31T23:59:59Z` or `2026-01-31T23:59:59.123456Z`.
    /// - Returns: Milliseconds since 1970-01-01T00:00:00Z; sub-millisecond digits are dropped.
    /// - Throws: ``FormatError`` when the text is not in the accepted form or names no real time.
    public static func parse(_ text: String) throws(FormatError) -> Int64 {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 20, utf8.count <= 30 else {
            throw FormatError(message: "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z")
        }
        var reader = DigitReader(bytes: utf8)
        let year = try reader.number(4, then: UInt8(ascii: "-"))
        let month = try reader.number(2, then: UInt8(ascii: "-"))
        let day = try reader.number(2, then: nil)
        try reader.expect(UInt8(ascii: "T"), orLower: true)
        let hour = try reader.number(2, then: UInt8(ascii: ":"))
        let minute = try reader.number(2, then: UInt8(ascii: ":"))
        let second = try reader.number(2, then: nil)
        let millisecond = try reader.fractionMilliseconds()
        try reader.expect(UInt8(ascii: "Z"), orLower: true)
        guard reader.isAtEnd else {
            throw FormatError(message: "only the UTC designator Z is accepted after the time")
        }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else {
            throw FormatError(message: "no such date")
        }
        guard hour < 24, minute < 60, second < 60 else {
            throw FormatError(message: "no such time of day")
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient
    }

    private static func appendDigits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Reads fixed-width fields of a timestamp.
    private struct DigitReader {
        let bytes: [UInt8]
        var index = 0

        var isAtEnd: Bool { index == bytes.count }

        mutating func number(_ width: Int, then separator: UInt8?) throws(FormatError) -> Int64 {
            guard bytes.count - index >= width else {
                throw FormatError(message: "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z")
            }
            var value: Int64 = 0
            for _ in 0..<width {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else {
                    throw FormatError(message: "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z")
                }
                value = value * 10 + Int64(digit)
                index += 1
            }
            if let separator {
                try expect(separator, orLower: false)
            }
            return value
        }

        mutating func expect(_ byte: UInt8, orLower: Bool) throws(FormatError) {
            guard index < bytes.count, bytes[index] == byte || (orLower && bytes[index] == byte | 0x20) else {
                throw FormatError(message: "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z")
            }
            index += 1
        }

        mutating func fractionMilliseconds() throws(FormatError) -> Int64 {
            guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return 0 }
            index += 1
            var digits = 0
            var milliseconds: Int64 = 0
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                if digits < 3 {
                    milliseconds = milliseconds * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                }
                digits += 1
                index += 1
            }
            guard (1...9).contains(digits) else {
                throw FormatError(message: "a fraction of a second needs 1 to 9 digits")
            }
            for _ in 0..<max(0, 3 - digits) { milliseconds *= 10 }
            return milliseconds
        }
    }
}
