internal import CTranscriptSodium

/// Re-wraps sealed keys from one wrapping key to another through a single guarded scratch
/// buffer, so that re-wrapping many keys costs two AEAD operations each and no allocation of
/// guarded memory per key (which `sodium_malloc` makes expensive: guard pages and `mlock`).
///
/// Not `Sendable`: use one per thread (the rotation uses one per batch).
///
/// ```swift
/// let rewrapper = try KeyRewrapper()
/// let fresh = try rewrapper.rewrap(sealedDEK, from: oldKEK, oldAD: oldAD, to: newKEK, newAD: newAD)
/// ```
public final class KeyRewrapper {
    private let scratch: UnsafeMutableRawPointer

    public init() throws {
        try Sodium.ensureReady()
        guard let memory = sodium_malloc(SecretKey.byteCount) else { throw CryptoError.outOfMemory }
        scratch = memory
    }

    deinit { sodium_free(scratch) }

    /// Opens `sealed` under `old` and seals the key inside under `new`.
    ///
    /// - Throws: ``CryptoError/authenticationFailed`` when `sealed` does not open.
    public func rewrap(
        _ sealed: UnsafeRawBufferPointer, from old: borrowing SecretKey, oldAD: [UInt8],
        to new: borrowing SecretKey, newAD: [UInt8]
    ) throws -> [UInt8] {
        guard sealed.count == AEAD.sealedKeyByteCount, let base = sealed.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw CryptoError.authenticationFailed
        }
        var written: UInt64 = 0
        let status = old.withUnsafeBytes { keyBytes in
            oldAD.withUnsafeBufferPointer { ad in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    scratch.assumingMemoryBound(to: UInt8.self), &written, nil,
                    base + AEAD.nonceByteCount, UInt64(sealed.count - AEAD.nonceByteCount),
                    ad.baseAddress, UInt64(ad.count),
                    base, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        defer { sodium_memzero(scratch, SecretKey.byteCount) }
        guard status == 0, Int(written) == SecretKey.byteCount else { throw CryptoError.authenticationFailed }
        return try AEAD.seal(UnsafeRawBufferPointer(start: scratch, count: SecretKey.byteCount), using: new, authenticating: newAD)
    }
}
