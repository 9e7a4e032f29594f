internal import CTranscriptSodium

/// A 32-byte symmetric key held in guarded memory.
///
/// The bytes live in `sodium_malloc` memory (guard pages, `mlock`ed, excluded from core
/// dumps where the kernel supports it) and are zeroed by `sodium_free` when the key is
/// destroyed. The type is `~Copyable`, so a key cannot be duplicated by accident; it has no
/// `description`, no `Codable` and is reachable only through ``withUnsafeBytes(_:)``.
///
/// ```swift
/// let kek = try SecretKey.random()
/// let sealed = try AEAD.seal(plaintext, using: kek, authenticating: ad)
/// ```
public struct SecretKey: ~Copyable, @unchecked Sendable {
    // Invariant making the unchecked Sendable sound: the memory is written only in init,
    // never mutated afterwards, and freed only in deinit, which runs once.

    /// The length of every key, in bytes.
    public static let byteCount = 32

    private let pointer: UnsafeMutableRawPointer

    private init(allocating: Void) throws {
        try Sodium.ensureReady()
        guard let memory = sodium_malloc(Self.byteCount) else { throw CryptoError.outOfMemory }
        pointer = memory
    }

    /// Creates a key of fresh random bytes.
    public static func random() throws -> SecretKey {
        let key = try SecretKey(allocating: ())
        randombytes_buf(key.pointer, Self.byteCount)
        return key
    }

    /// Creates a key by copying exactly 32 bytes.
    ///
    /// - Throws: ``CryptoError/invalidLength`` when `bytes` is not 32 bytes long.
    public init(copying bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == Self.byteCount, let base = bytes.baseAddress else { throw CryptoError.invalidLength }
        try self.init(allocating: ())
        pointer.copyMemory(from: base, byteCount: Self.byteCount)
    }

    /// Creates a key by letting `body` fill its 32 bytes in place, so that the clear key is
    /// never held in ordinary memory.
    public init(filling body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try Sodium.ensureReady()
        guard let memory = sodium_malloc(Self.byteCount) else { throw CryptoError.outOfMemory }
        do {
            try body(UnsafeMutableRawBufferPointer(start: memory, count: Self.byteCount))
        } catch {
            sodium_free(memory)
            throw error
        }
        pointer = memory
    }

    deinit {
        sodium_free(pointer)
    }

    /// Calls `body` with the key's bytes. Do not let the buffer escape the closure.
    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: Self.byteCount))
    }

    /// Compares two keys in constant time.
    public func isEqual(to other: borrowing SecretKey) -> Bool {
        sodium_memcmp(pointer, other.pointer, Self.byteCount) == 0
    }
}
