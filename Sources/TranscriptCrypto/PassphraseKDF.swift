internal import CTranscriptSodium

/// Argon2id (`crypto_pwhash`) for turning a passphrase into a key.
///
/// ```swift
/// let salt = PassphraseKDF.makeSalt()
/// let key = try PassphraseKDF.deriveKey(passphrase: secret, salt: salt, cost: .moderate)
/// ```
public enum PassphraseKDF {
    /// The salt length Argon2id takes, in bytes.
    public static let saltByteCount = 16

    /// Argon2id work factors. They are stored beside the salt so that a store opens with the
    /// cost it was created with.
    public struct Cost: Sendable, Equatable {
        /// Passes over memory.
        public var operations: UInt64
        /// Memory in bytes.
        public var memory: UInt64

        public init(operations: UInt64, memory: UInt64) {
            self.operations = operations
            self.memory = memory
        }

        /// libsodium's "moderate" limits (3 passes, 256 MiB): the default for unlocking a store.
        public static let moderate = Cost(
            operations: UInt64(crypto_pwhash_opslimit_moderate()), memory: UInt64(crypto_pwhash_memlimit_moderate()))
        /// libsodium's "interactive" limits (2 passes, 64 MiB).
        public static let interactive = Cost(
            operations: UInt64(crypto_pwhash_opslimit_interactive()), memory: UInt64(crypto_pwhash_memlimit_interactive()))
        /// The smallest limits libsodium accepts: for tests only.
        public static let minimum = Cost(
            operations: UInt64(crypto_pwhash_opslimit_min()), memory: UInt64(crypto_pwhash_memlimit_min()))
    }

    /// A fresh random salt.
    public static func makeSalt() -> [UInt8] { SecureRandom.bytes(saltByteCount) }

    /// Derives a 32-byte key from `passphrase` into guarded memory.
    ///
    /// - Throws: ``CryptoError/invalidLength`` for a salt of the wrong size,
    ///   ``CryptoError/keyDerivationFailed`` when Argon2id cannot run with `cost`.
    public static func deriveKey(passphrase: SecretBytes, salt: [UInt8], cost: Cost) throws -> SecretKey {
        try Sodium.ensureReady()
        guard salt.count == saltByteCount else { throw CryptoError.invalidLength }
        return try SecretKey { (out) in
            let status = passphrase.withUnsafeBytes { pass in
                // An empty passphrase still needs a valid pointer for crypto_pwhash.
                salt.withUnsafeBufferPointer { saltBytes in
                    crypto_pwhash(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                        (pass.baseAddress ?? UnsafeRawPointer(saltBytes.baseAddress!)).assumingMemoryBound(to: CChar.self), UInt64(pass.count),
                        saltBytes.baseAddress!, cost.operations, Int(cost.memory), crypto_pwhash_ALG_ARGON2ID13)
                }
            }
            guard status == 0 else { throw CryptoError.keyDerivationFailed }
        }
    }
}
