extension JSONParser {
    /// Parses a string starting at the opening quote and leaves `position` after the closing one.
    ///
    /// Strings without escapes (nearly all of them) are validated in place and copied once;
    /// the first backslash starts a decoded copy, to which plain runs are added in bulk.
    mutating func parseString() throws(JSONError) -> String {
        try scanString(decoding: true).unsafelyUnwrapped
    }

    /// Checks a string starting at the opening quote as ``parseString()`` does and leaves
    /// `position` after the closing quote, without copying or decoding it.
    mutating func skipString() throws(JSONError) {
        _ = try scanString(decoding: false)
    }

    /// The one scan behind ``parseString()`` and ``skipString()``: every check is the same
    /// either way; with `decoding` false nothing is copied and `nil` is returned.
    @inline(__always)
    private mutating func scanString(decoding: Bool) throws(JSONError) -> String? {
        // A string has at least its opening quote, so the buffer is not empty.
        let base = bytes.baseAddress.unsafelyUnwrapped
        let end = bytes.count
        let start = position + 1
        var index = start
        var runStart = start
        var decoded: [UInt8]?
        while true {
            index = Self.skipPlainBytes(base, from: index, to: end)
            guard index < end else {
                throw JSONError(.unexpectedEnd, at: index, "input ended inside a string")
            }
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                guard decoding else { return nil }
                guard decoded != nil else {
                    return String(decoding: UnsafeRawBufferPointer(start: base + start, count: index - start), as: UTF8.self)
                }
                decoded!.append(contentsOf: UnsafeRawBufferPointer(start: base + runStart, count: index - runStart))
                return String(decoding: decoded!, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                position = index
                let scalar = try readEscape()
                if decoding {
                    if decoded == nil {
                        decoded = []
                        decoded!.reserveCapacity(index - start + 64)
                    }
                    decoded!.append(contentsOf: UnsafeRawBufferPointer(start: base + runStart, count: index - runStart))
                    Self.appendUTF8(scalar, to: &decoded!)
                }
                index = position
                runStart = index
            } else if byte < 0x20 {
                throw JSONError(.controlCharacter, at: index, "unescaped control character \(JSONError.hex(byte)) in string")
            } else {
                index += try validateUTF8Sequence(at: index)
            }
        }
    }

    /// Skips bytes that need no attention inside a string: printable ASCII other than `"` and
    /// `\`. Eight bytes at a time while it can (SWAR), then byte by byte.
    ///
    /// - Returns: The index of the first byte that needs attention, or `end`.
    @inline(__always)
    static func skipPlainBytes(_ base: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = start
        while end - index >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quotes = word ^ (0x22 &* ones)
            let backslashes = word ^ (0x5C &* ones)
            // Per-byte tests: high bit set, below 0x20, equal to '"', equal to '\\'.
            let control = (word &- (0x20 &* ones)) & ~word
            let quote = (quotes &- ones) & ~quotes
            let backslash = (backslashes &- ones) & ~backslashes
            let flagged = (word | control | quote | backslash) & highs
            if flagged != 0 {
                // Borrows only run upward, so the lowest flag marks the first such byte.
                return index + flagged.trailingZeroBitCount >> 3
            }
            index += 8
        }
        while index < end {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return index
            }
            index += 1
        }
        return index
    }

    /// Decodes the escape at `position` (a backslash), a surrogate pair's two escapes together,
    /// and moves past it; returns the Unicode scalar value, never a surrogate.
    private mutating func readEscape() throws(JSONError) -> UInt32 {
        let escapeStart = position
        guard position + 1 < bytes.count else {
            throw JSONError(.unexpectedEnd, at: position, "input ended inside an escape")
        }
        let letter = bytes[position + 1]
        position += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return UInt32(letter)
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
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
            return scalar
        default:
            // Only a printable ASCII letter is named: DEL and other controls would reach logs raw.
            let shown = (0x20...0x7E).contains(letter) ? letter : UInt8(ascii: "?")
            throw JSONError(.invalidEscape, at: escapeStart, "invalid escape \\\(String(decoding: [shown], as: UTF8.self))")
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
    func validateUTF8Sequence(at position: Int) throws(JSONError) -> Int {
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
