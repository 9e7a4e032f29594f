extension JSONParser {
    /// Parses a string starting at the opening quote and leaves `position` after the closing one.
    ///
    /// Strings without escapes (nearly all of them) are validated in place and copied once;
    /// the first backslash switches to building the decoded bytes.
    mutating func parseString() throws(JSONError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return string
            } else if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(from: start)
            } else if byte < 0x20 {
                throw JSONError(.controlCharacter, at: position, "unescaped control character \(JSONError.hex(byte)) in string")
            } else if byte < 0x80 {
                position += 1
            } else {
                position += try validateUTF8Sequence()
            }
        }
        throw JSONError(.unexpectedEnd, at: position, "input ended inside a string")
    }

    /// Continues a string that has escapes; `start` is the first byte after the opening quote.
    private mutating func parseEscapedString(from start: Int) throws(JSONError) -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(position - start + 16)
        decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                try appendEscape(to: &decoded)
            } else if byte < 0x20 {
                throw JSONError(.controlCharacter, at: position, "unescaped control character \(JSONError.hex(byte)) in string")
            } else if byte < 0x80 {
                decoded.append(byte)
                position += 1
            } else {
                let length = try validateUTF8Sequence()
                decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]))
                position += length
            }
        }
        throw JSONError(.unexpectedEnd, at: position, "input ended inside a string")
    }

    /// Decodes the escape at `position` (a backslash) into UTF-8 and moves past it.
    private mutating func appendEscape(to decoded: inout [UInt8]) throws(JSONError) {
        let escapeStart = position
        guard position + 1 < bytes.count else {
            throw JSONError(.unexpectedEnd, at: position, "input ended inside an escape")
        }
        let letter = bytes[position + 1]
        position += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(letter)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHex4(escapeStart: escapeStart)
            var scalar = UInt32(unit)
            if (0xDC00...0xDFFF).contains(unit) {
                throw JSONError(.loneSurrogate, at: escapeStart, "low surrogate escape without a high surrogate")
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard position + 1 < bytes.count,
                      bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw JSONError(.loneSurrogate, at: escapeStart, "high surrogate escape not followed by a low surrogate")
                }
                let lowStart = position
                position += 2
                let low = try readHex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONError(.loneSurrogate, at: escapeStart, "high surrogate escape not followed by a low surrogate")
                }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            }
            Self.appendUTF8(scalar, to: &decoded)
        default:
            throw JSONError(.invalidEscape, at: escapeStart, "invalid escape \\\(String(decoding: [letter < 0x80 && letter >= 0x20 ? letter : UInt8(ascii: "?")], as: UTF8.self))")
        }
    }

    /// Reads the four hex digits of a `\u` escape at `position`.
    private mutating func readHex4(escapeStart: Int) throws(JSONError) -> UInt16 {
        guard bytes.count - position >= 4 else {
            throw JSONError(.invalidEscape, at: escapeStart, "\\u escape needs four hex digits")
        }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONError(.invalidEscape, at: escapeStart, "\\u escape needs four hex digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// Checks the multi-byte UTF-8 sequence at `position` (Unicode 15, table 3-7).
    ///
    /// Rejects overlong forms, encoded surrogates (U+D800–U+DFFF), code points above
    /// U+10FFFF and truncated sequences.
    ///
    /// - Returns: The sequence's length, 2 to 4.
    func validateUTF8Sequence() throws(JSONError) -> Int {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default:
            throw JSONError(.invalidUTF8, at: position, "invalid UTF-8 lead byte \(JSONError.hex(lead))")
        }
        guard bytes.count - position >= length else {
            throw JSONError(.invalidUTF8, at: position, "truncated UTF-8 sequence")
        }
        guard secondRange.contains(bytes[position + 1]) else {
            throw JSONError(.invalidUTF8, at: position, "invalid UTF-8 sequence")
        }
        for index in 2..<length where bytes[position + index] & 0xC0 != 0x80 {
            throw JSONError(.invalidUTF8, at: position, "invalid UTF-8 sequence")
        }
        return length
    }

    /// Appends a Unicode scalar value (never a surrogate) as UTF-8.
    static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
