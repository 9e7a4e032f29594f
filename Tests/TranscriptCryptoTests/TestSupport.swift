import TranscriptCrypto

extension Array where Element == UInt8 {
    /// Decodes a hexadecimal string; whitespace is ignored so that long vectors can wrap.
    init(hex: String) {
        let digits = hex.unicodeScalars.filter { !$0.properties.isWhitespace }.map { UInt8(String($0), radix: 16)! }
        precondition(digits.count.isMultiple(of: 2), "odd number of hex digits")
        self = stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// The bytes as lowercase hexadecimal, for readable failure messages.
    var hex: String {
        map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined()
    }
}

/// Makes a key holding exactly `bytes` (which must be 32 long).
func makeKey(_ bytes: [UInt8]) throws -> SecretKey {
    try SecretKey { buffer in
        precondition(bytes.count == buffer.count, "test keys are 32 bytes")
        buffer.copyBytes(from: bytes)
    }
}

/// The bytes of a key, read back through its only accessor.
func bytes(of key: borrowing SecretKey) -> [UInt8] {
    key.withUnsafeBytes { Array($0) }
}

/// A passphrase in guarded memory.
func secret(_ text: String) throws -> SecretBytes {
    try SecretBytes(copying: Array(text.utf8))
}
