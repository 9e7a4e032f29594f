/// The one error type of ``TranscriptCrypto``.
///
/// A failed open is always ``authenticationFailed``, whatever the cause (wrong key, wrong
/// associated data, a flipped bit, a truncated ciphertext), so callers learn nothing from
/// the failure that an attacker could use.
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable identifier of the failure.
    public let code: Code

    /// The kinds of failure.
    public enum Code: Sendable, Equatable {
        case authenticationFailed
        case invalidLength
        case outOfMemory
        case keyDerivationFailed
        case libraryUnavailable
    }

    /// The ciphertext could not be authenticated under the key and associated data given.
    public static let authenticationFailed = CryptoError(code: .authenticationFailed)
    /// A key, nonce or ciphertext had the wrong length.
    public static let invalidLength = CryptoError(code: .invalidLength)
    /// Guarded memory could not be allocated (for example, the mlock limit was reached).
    public static let outOfMemory = CryptoError(code: .outOfMemory)
    /// Argon2id failed, usually because its memory limit could not be allocated.
    public static let keyDerivationFailed = CryptoError(code: .keyDerivationFailed)
    /// libsodium could not be initialised.
    public static let libraryUnavailable = CryptoError(code: .libraryUnavailable)

    public var description: String {
        switch code {
        case .authenticationFailed: "authentication failed"
        case .invalidLength: "invalid length"
        case .outOfMemory: "guarded memory could not be allocated"
        case .keyDerivationFailed: "key derivation failed"
        case .libraryUnavailable: "libsodium could not be initialised"
        }
    }

    /// Lets `catch CryptoError.authenticationFailed` match.
    public static func ~= (pattern: CryptoError, error: any Error) -> Bool {
        (error as? CryptoError) == pattern
    }
}
