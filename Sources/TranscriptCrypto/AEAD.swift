internal import CTranscriptSodium

/// XChaCha20-Poly1305-IETF authenticated encryption with a fresh random nonce per seal.
///
/// A sealed box is `nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The associated data is
/// not stored; the caller rebuilds it from where the box belongs, so a box copied anywhere
/// else fails to open.
///
/// ```swift
/// let box = try AEAD.seal(message, using: dek, authenticating: ad)
/// let clear = try AEAD.open(box, using: dek, authenticating: ad)
/// ```
public enum AEAD {
    /// Bytes of nonce at the front of every sealed box.
    public static let nonceByteCount = 24
    /// Bytes of authentication tag at the end of every sealed box.
    public static let tagByteCount = 16
    /// Bytes a sealed box adds to its plaintext.
    public static let overhead = nonceByteCount + tagByteCount

    /// Seals `plaintext` under `key`, binding it to `associatedData`.
    ///
    /// - Returns: `nonce ‖ ciphertext ‖ tag`, ``overhead`` bytes longer than the plaintext.
    public static func seal(
        _ plaintext: UnsafeRawBufferPointer,
        using key: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        try Sodium.ensureReady()
        var nonce = [UInt8](repeating: 0, count: nonceByteCount)
        nonce.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, nonceByteCount) }
        return try seal(plaintext, using: key, nonce: nonce, authenticating: associatedData)
    }

    /// Seals a byte array; see ``seal(_:using:authenticating:)-(UnsafeRawBufferPointer,_,_)``.
    public static func seal(
        _ plaintext: [UInt8],
        using key: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { buffer in
            try seal(buffer, using: key, authenticating: associatedData)
        }
    }

    /// Seals with a caller-chosen nonce. Internal: only known-answer tests may pick nonces.
    static func seal(
        _ plaintext: UnsafeRawBufferPointer,
        using key: borrowing SecretKey,
        nonce: [UInt8],
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        guard nonce.count == nonceByteCount else { throw CryptoError.invalidLength }
        let total = plaintext.count + overhead
        var status: Int32 = -1
        var written: UInt64 = 0
        let box = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let base = out.baseAddress!
            for index in 0..<nonceByteCount { base[index] = nonce[index] }
            status = key.withUnsafeBytes { keyBytes in
                associatedData.withUnsafeBufferPointer { ad in
                    crypto_aead_xchacha20poly1305_ietf_encrypt(
                        base + nonceByteCount, &written,
                        plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                        ad.baseAddress, UInt64(ad.count),
                        nil, base, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            initialized = total
        }
        guard status == 0, Int(written) == plaintext.count + tagByteCount else { throw CryptoError.invalidLength }
        return box
    }

    /// Opens a sealed box made by ``seal(_:using:authenticating:)-(UnsafeRawBufferPointer,_,_)``.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` for any box that does not authenticate
    ///   under `key` and `associatedData`, including one too short to hold a nonce and tag.
    public static func open(
        _ box: UnsafeRawBufferPointer,
        using key: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        try Sodium.ensureReady()
        guard box.count >= overhead, let base = box.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw CryptoError.authenticationFailed
        }
        let clearCount = box.count - overhead
        var status: Int32 = -1
        let clear = [UInt8](unsafeUninitializedCapacity: max(clearCount, 1)) { out, initialized in
            var written: UInt64 = 0
            status = key.withUnsafeBytes { keyBytes in
                associatedData.withUnsafeBufferPointer { ad in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.baseAddress, &written, nil,
                        base + nonceByteCount, UInt64(box.count - nonceByteCount),
                        ad.baseAddress, UInt64(ad.count),
                        base, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            initialized = status == 0 ? Int(written) : 0
        }
        guard status == 0 else { throw CryptoError.authenticationFailed }
        return clear
    }

    /// Opens a sealed byte array; see ``open(_:using:authenticating:)-(UnsafeRawBufferPointer,_,_)``.
    public static func open(
        _ box: [UInt8],
        using key: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        try box.withUnsafeBytes { buffer in
            try open(buffer, using: key, authenticating: associatedData)
        }
    }
}
