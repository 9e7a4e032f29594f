internal import CTranscriptSodium

/// Cryptographically secure random bytes from libsodium.
public enum SecureRandom {
    /// Returns `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return out
    }

    /// Returns a uniformly random integer below `upperBound`.
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        _ = Sodium.ready
        return randombytes_uniform(upperBound)
    }
}
