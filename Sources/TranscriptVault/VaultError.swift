/// The one error type of the engine. Each case maps to one wire error of the socket API
/// (see `Docs/protocol.md`) or, for the store-level cases, to an exit status of the CLI.
///
/// Messages never contain key material, message content or another tenant's identifiers.
public enum VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A parameter was invalid: `field` names it.
    case invalidArgument(field: String, reason: String)
    /// The bearer token is malformed, unknown, revoked or wrong.
    case unauthenticated
    /// The tenant, conversation or record does not exist (or is not the caller's).
    case notFound
    /// The idempotency key was used before with different content.
    case conflict
    /// A tenant or other named object already exists.
    case alreadyExists(String)
    /// The tenant has been shredded or is scheduled for shredding.
    case tenantShredded
    /// A value exceeds a size limit.
    case tooLarge(String)
    /// The store cannot take the request now (disk full, map at its limit, shutting down).
    case unavailable(String)
    /// The unlock secret does not open the keyring.
    case wrongUnlockSecret
    /// No unlock secret was given where the keyring needs one.
    case unlockSecretMissing(String)
    /// The keyring file is damaged, truncated or not a keyring.
    case keyringCorrupted(String)
    /// The keyring and the store do not belong together (another store, or a missing epoch).
    case keyringMismatch(String)
    /// The data directory holds no initialised store.
    case notInitialized(String)
    /// The data directory already holds a store.
    case alreadyInitialized(String)
    /// Another process owns the data directory.
    case storeLocked(String)
    /// A stored record failed its integrity check: `what` says which kind, never its content.
    case recordCorrupted(String)
    /// An unexpected failure of the storage or crypto layer.
    case `internal`(String)

    public var description: String {
        switch self {
        case let .invalidArgument(field, reason): "invalid \(field): \(reason)"
        case .unauthenticated: "unauthenticated"
        case .notFound: "not found"
        case .conflict: "idempotency key reused with different content"
        case let .alreadyExists(what): "\(what) already exists"
        case .tenantShredded: "tenant shredded"
        case let .tooLarge(what): "\(what) too large"
        case let .unavailable(why): "unavailable: \(why)"
        case .wrongUnlockSecret: "the unlock secret does not open this store's keyring"
        case let .unlockSecretMissing(why): "no unlock secret: \(why)"
        case let .keyringCorrupted(why): "the keyring is corrupted: \(why)"
        case let .keyringMismatch(why): "the keyring does not match the store: \(why)"
        case let .notInitialized(why): "no store: \(why)"
        case let .alreadyInitialized(why): "already initialised: \(why)"
        case let .storeLocked(why): why
        case let .recordCorrupted(what): "a stored \(what) failed its integrity check"
        case let .internal(why): "internal error: \(why)"
        }
    }

    /// Whether the error means the store could not be unlocked (the CLI exits with 2).
    public var isUnlockFailure: Bool {
        switch self {
        case .wrongUnlockSecret, .unlockSecretMissing, .keyringCorrupted, .keyringMismatch: true
        default: false
        }
    }
}
