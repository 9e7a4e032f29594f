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
        var out = [UInt8](repeating: 0, count: AEAD.sealedKeyByteCount)
        try out.withUnsafeMutableBytes { try rewrap(sealed, from: old, oldAD: oldAD, to: new, newAD: newAD, into: $0) }
        return out
    }

    /// Re-wraps into `output` (exactly ``AEAD/sealedKeyByteCount`` bytes), which may be the
    /// very bytes of a record being patched: no allocation at all.
    public func rewrap(
        _ sealed: UnsafeRawBufferPointer, from old: borrowing SecretKey, oldAD: [UInt8],
        to new: borrowing SecretKey, newAD: [UInt8], into output: UnsafeMutableRawBufferPointer
    ) throws {
        guard sealed.count == AEAD.sealedKeyByteCount, output.count == AEAD.sealedKeyByteCount,
              let base = sealed.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let target = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        else { throw CryptoError.authenticationFailed }
        var written: UInt64 = 0
        let opened = old.withUnsafeBytes { keyBytes in
            oldAD.withUnsafeBufferPointer { ad in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    scratch.assumingMemoryBound(to: UInt8.self), &written, nil,
                    base + AEAD.nonceByteCount, UInt64(sealed.count - AEAD.nonceByteCount),
                    ad.baseAddress, UInt64(ad.count),
                    base, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        defer { sodium_memzero(scratch, SecretKey.byteCount) }
        guard opened == 0, Int(written) == SecretKey.byteCount else { throw CryptoError.authenticationFailed }
        // The sealed input is fully read before the output (possibly the same memory) is written.
        randombytes_buf(target, AEAD.nonceByteCount)
        var sealedLength: UInt64 = 0
        let status = new.withUnsafeBytes { keyBytes in
            newAD.withUnsafeBufferPointer { ad in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    target + AEAD.nonceByteCount, &sealedLength,
                    scratch.assumingMemoryBound(to: UInt8.self), UInt64(SecretKey.byteCount),
                    ad.baseAddress, UInt64(ad.count),
                    nil, target, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0, Int(sealedLength) == SecretKey.byteCount + AEAD.tagByteCount else { throw CryptoError.invalidLength }
    }
}
