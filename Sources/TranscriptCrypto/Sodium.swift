internal import CTranscriptSodium

/// Initialises libsodium exactly once, before any other call into it.
enum Sodium {
    /// `sodium_init` is thread-safe and idempotent; the static makes it run once per process.
    static let ready: Bool = sodium_init() >= 0

    static func ensureReady() throws {
        guard ready else { throw CryptoError.libraryUnavailable }
    }
}
