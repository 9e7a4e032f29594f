public import TranscriptCrypto
internal import Glibc

/// What unlocks a store's keyring: a key file or a passphrase.
///
/// ```swift
/// let secret = UnlockSecret.keyFile("/etc/tvault/unlock.key")
/// let secret = try UnlockSecret.passphrase(SecretBytes(copying: typed))
/// ```
public enum UnlockSecret: Sendable {
    /// A file holding 32 random bytes as 64 hexadecimal digits (a trailing newline is allowed).
    case keyFile(String)
    /// A passphrase, stretched with Argon2id.
    case passphrase(SecretBytes)

    /// A readable name of the kind, for messages.
    var kindName: String {
        switch self {
        case .keyFile: "key file"
        case .passphrase: "passphrase"
        }
    }

    /// Creates a new key file at `path` with mode 0400, failing if the file exists.
    public static func generateKeyFile(at path: String) throws {
        var raw = SecureRandom.bytes(SecretKey.byteCount)
        defer { raw.zeroize() }
        var text = Hex.digits(of: raw)
        defer { text.zeroize() }
        text.append(UInt8(ascii: "\n"))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o400)
        guard fd >= 0 else {
            throw VaultError.unavailable("cannot create the unlock key file \(path) (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(fd) == 0 else {
            throw VaultError.unavailable("cannot write the unlock key file")
        }
    }

    /// Reads a key file into guarded memory.
    static func loadKeyFile(_ path: String) throws -> SecretKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VaultError.unlockSecretMissing("cannot read the unlock key file \(path) (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 130)
        defer { buffer.zeroize() }
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw VaultError.unlockSecretMissing("the unlock key file \(path) is empty") }
        var digits = Array(buffer[0..<count])
        defer { digits.zeroize() }
        while let last = digits.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") {
            digits.removeLast()
        }
        guard digits.count == 64 else {
            throw VaultError.unlockSecretMissing("the unlock key file \(path) must hold 64 hexadecimal digits")
        }
        return try SecretKey { out in
            for index in 0..<32 {
                guard let high = Hex.nibble(digits[2 * index], allowingUppercase: true),
                      let low = Hex.nibble(digits[2 * index + 1], allowingUppercase: true) else {
                    throw VaultError.unlockSecretMissing("the unlock key file \(path) must hold 64 hexadecimal digits")
                }
                out[index] = high << 4 | low
            }
        }
    }
}
