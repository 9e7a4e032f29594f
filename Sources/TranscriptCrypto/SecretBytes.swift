internal import CTranscriptSodium

/// A variable-length secret (a passphrase, an unlock key file's content) in guarded memory.
///
/// Like ``SecretKey`` it lives in `sodium_malloc` memory and is zeroed when released; unlike
/// it, it may have any length and may be shared between tasks.
public final class SecretBytes: Sendable {
    // Invariant for Sendable: the memory is written only in init and freed only in deinit.
    private nonisolated(unsafe) let pointer: UnsafeMutableRawPointer
    /// The number of bytes.
    public let count: Int

    /// Copies `bytes` into guarded memory. Zero the source afterwards where you can.
    public init(copying bytes: [UInt8]) throws {
        try Sodium.ensureReady()
        guard let memory = sodium_malloc(max(bytes.count, 1)) else { throw CryptoError.outOfMemory }
        bytes.withUnsafeBytes { if let base = $0.baseAddress { memory.copyMemory(from: base, byteCount: $0.count) } }
        pointer = memory
        count = bytes.count
    }

    deinit { sodium_free(pointer) }

    /// Calls `body` with the secret's bytes. Do not let the buffer escape the closure.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

extension Array where Element == UInt8 {
    /// Overwrites the array's bytes with zeros, in a way the optimiser keeps.
    public mutating func zeroize() {
        withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
    }
}
