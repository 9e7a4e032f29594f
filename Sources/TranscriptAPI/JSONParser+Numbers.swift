extension JSONParser {
    /// Parses a number at `position` against the RFC 8259 grammar and keeps its text.
    ///
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` — no leading zeros, no bare
    /// `.` or exponent, no `+` sign. Magnitude is not limited: the text is the value.
    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = position
        let isInteger = try scanNumber()
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return JSONNumber(validatedText: text, isInteger: isInteger)
    }

    /// Checks a number at `position` against the same grammar and moves past it, keeping
    /// nothing; returns whether it is an integer (no fraction, no exponent).
    mutating func scanNumber() throws(JSONError) -> Bool {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
        }
        guard position < bytes.count else {
            throw JSONError(.invalidNumber, at: start, "number has no digits")
        }
        let first = bytes[position]
        if first == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) {
                throw JSONError(.invalidNumber, at: start, "number has a leading zero")
            }
        } else if isDigit(first) {
            skipDigits()
        } else {
            throw JSONError(.invalidNumber, at: start, "number has no digits")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard skipDigits() > 0 else {
                throw JSONError(.invalidNumber, at: start, "number has no digits after '.'")
            }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard skipDigits() > 0 else {
                throw JSONError(.invalidNumber, at: start, "number has no digits in its exponent")
            }
        }
        return isInteger
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, isDigit(bytes[position]) {
            position += 1
        }
        return position - start
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}
