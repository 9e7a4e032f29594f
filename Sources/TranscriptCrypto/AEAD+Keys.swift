internal import CTranscriptSodium

extension AEAD {
    /// The length of a sealed key: a 32-byte key plus ``overhead``.
    public static let sealedKeyByteCount = SecretKey.byteCount + overhead

    /// Wraps `key` under `wrappingKey`, binding it to `associatedData`.
    ///
    /// ```swift
    /// let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: ad)
    /// ```
    public static func sealKey(
        _ key: borrowing SecretKey,
        using wrappingKey: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        try key.withUnsafeBytes { (clear) in
            try seal(clear, using: wrappingKey, authenticating: associatedData)
        }
    }

    /// Unwraps a key sealed by ``sealKey(_:using:authenticating:)`` straight into guarded
    /// memory, so that the clear key never sits in an ordinary heap buffer.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` when the box does not open.
    public static func openKey(
        _ box: UnsafeRawBufferPointer,
        using wrappingKey: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> SecretKey {
        try Sodium.ensureReady()
        guard box.count == sealedKeyByteCount, let base = box.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw CryptoError.authenticationFailed
        }
        return try SecretKey { (out) in
            var written: UInt64 = 0
            let status = wrappingKey.withUnsafeBytes { keyBytes in
                associatedData.withUnsafeBufferPointer { ad in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, nil,
                        base + nonceByteCount, UInt64(box.count - nonceByteCount),
                        ad.baseAddress, UInt64(ad.count),
                        base, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            guard status == 0, Int(written) == SecretKey.byteCount else { throw CryptoError.authenticationFailed }
        }
    }

    /// Unwraps a sealed key held in a byte array.
    public static func openKey(
        _ box: [UInt8],
        using wrappingKey: borrowing SecretKey,
        authenticating associatedData: [UInt8]
    ) throws -> SecretKey {
        // Array.withUnsafeBytes cannot return a noncopyable value, so carry it out in an Optional.
        var opened: SecretKey? = nil
        try box.withUnsafeBytes { buffer in
            opened = try openKey(buffer, using: wrappingKey, authenticating: associatedData)
        }
        guard let key = opened.take() else { throw CryptoError.authenticationFailed }
        return key
    }
}
