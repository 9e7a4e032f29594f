internal import CTranscriptSodium

/// Keyed BLAKE2b (`crypto_generichash`), used to store client identifiers without their
/// clear values and to chain audit records.
///
/// ```swift
/// let conversationKey = KeyedHash.hash(Array("conv-42".utf8), key: indexKey, domain: "conv", length: 16)
/// ```
public enum KeyedHash {
    /// Hashes `domain ‖ 0x00 ‖ data` under `key` to `length` bytes (16...64).
    ///
    /// The domain separates uses of one key, so a conversation id and a subject id with the
    /// same text hash to unrelated values.
    public static func hash(
        _ data: UnsafeRawBufferPointer,
        key: borrowing SecretKey,
        domain: String,
        length: Int = 32
    ) -> [UInt8] {
        precondition((16...64).contains(length), "keyed hash length out of range")
        _ = Sodium.ready
        // The state is an opaque, 64-byte-aligned struct that Swift cannot lay out itself.
        let stateMemory = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer {
            sodium_memzero(stateMemory, crypto_generichash_statebytes())
            stateMemory.deallocate()
        }
        let state = OpaquePointer(stateMemory)
        key.withUnsafeBytes { keyBytes in
            _ = crypto_generichash_init(state, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count, length)
        }
        var label = Array(domain.utf8)
        label.append(0)
        label.withUnsafeBufferPointer { _ = crypto_generichash_update(state, $0.baseAddress, UInt64($0.count)) }
        if let base = data.baseAddress {
            _ = crypto_generichash_update(state, base.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
        }
        var out = [UInt8](repeating: 0, count: length)
        out.withUnsafeMutableBufferPointer { _ = crypto_generichash_final(state, $0.baseAddress!, length) }
        return out
    }

    /// Hashes a byte array; see ``hash(_:key:domain:length:)-(UnsafeRawBufferPointer,_,_,_)``.
    public static func hash(_ data: [UInt8], key: borrowing SecretKey, domain: String, length: Int = 32) -> [UInt8] {
        data.withUnsafeBytes { hash($0, key: key, domain: domain, length: length) }
    }

    /// Unkeyed BLAKE2b-256, for integrity checksums of files that hold no secret input.
    public static func checksum(_ data: [UInt8]) -> [UInt8] {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                _ = crypto_generichash(output.baseAddress!, 32, input.baseAddress, UInt64(input.count), nil, 0)
            }
        }
        return out
    }

    /// Compares two byte arrays in constant time (for their common length; unequal lengths differ).
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }
}
