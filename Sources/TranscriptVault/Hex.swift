/// Lowercase hexadecimal, as the store writes ids, cursors, token secrets and unlock key files.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The digits of `bytes`, as UTF-8 bytes (so a secret's text can be zeroed after use).
    static func digits(of bytes: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return out
    }

    /// The digits of `bytes` as a string.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: digits(of: bytes), as: UTF8.self)
    }

    /// The value of one digit; uppercase digits count only when `allowingUppercase`.
    static func nibble(_ digit: UInt8, allowingUppercase: Bool = false) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F") where allowingUppercase: digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The bytes of lowercase digits, or `nil` for an odd count or any other character.
    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}
