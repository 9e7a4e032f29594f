internal import Glibc

/// An exclusive, advisory lock on a file, held for the life of the object.
///
/// It makes one process the owner of a data directory: a second process that tries to take
/// the same lock fails at once with ``LMDBError/directoryLocked`` instead of waiting.
///
/// ```swift
/// let lock = try DirectoryLock(path: dataDirectory + "/tvault.lock")
/// ```
public final class DirectoryLock: Sendable {
    private let descriptor: Int32
    /// The path of the lock file.
    public let path: String

    /// Takes the lock, creating the file (mode 0600) when missing.
    ///
    /// - Throws: ``LMDBError/directoryLocked`` when another process holds it, or the `errno`
    ///   of a failed `open`.
    public init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            throw code == EWOULDBLOCK ? LMDBError.directoryLocked : LMDBError(code: code)
        }
        descriptor = fd
        self.path = path
    }

    /// Reports whether some process holds the lock at `path`, without keeping it.
    public static func isHeld(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
