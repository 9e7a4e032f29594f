extension JSONWriter {
    /// Writes `"key":"value"`.
    public mutating func member(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    /// Writes `"key":"value"`, or `"key":null` when `value` is `nil`.
    public mutating func member(_ key: String, _ value: String?) {
        self.key(key)
        if let value { string(value) } else { null() }
    }

    /// Writes `"key":value` for a signed integer.
    public mutating func member(_ key: String, _ value: Int64) {
        self.key(key)
        number(value)
    }

    /// Writes `"key":value` for an integer.
    public mutating func member(_ key: String, _ value: Int) {
        self.key(key)
        number(value)
    }

    /// Writes `"key":value` for an unsigned integer, or `"key":null` when `value` is `nil`.
    public mutating func member(_ key: String, _ value: UInt64?) {
        self.key(key)
        if let value { number(value) } else { null() }
    }

    /// Writes `"key":true` or `"key":false`.
    public mutating func member(_ key: String, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    /// Writes `"key":[…]` for an array of strings.
    public mutating func member(_ key: String, _ values: [String]) {
        self.key(key)
        array { writer in
            for value in values {
                writer.string(value)
            }
        }
    }

    /// Writes `"key":` followed by a verbatim JSON value, or `null` when `json` is `nil`.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - json: One complete, valid JSON value, spliced without re-encoding.
    public mutating func member(_ key: String, raw json: [UInt8]?) {
        self.key(key)
        if let json { appendRaw(json) } else { null() }
    }

    /// Writes `"key":"<RFC 3339 time>"` for milliseconds since the Unix epoch.
    public mutating func member(_ key: String, timestampMs: Int64) {
        self.key(key)
        string(RFC3339.format(milliseconds: timestampMs))
    }

    /// Writes a string's JSON form, quotes included.
    mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                appendEscape(for: byte)
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(for byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let digits = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }
    }
}
