internal import TranscriptCrypto

/// A shared reference to one unwrapped key, so that caches and readers on several threads can
/// hold it; the key is zeroed when the last reference goes.
final class KeyBox: Sendable {
    let key: SecretKey

    init(_ key: consuming SecretKey) { self.key = key }
}
