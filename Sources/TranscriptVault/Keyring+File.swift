internal import Glibc

extension Keyring {
    /// Reads and decodes the keyring at `path`.
    static func load(path: String) throws -> Keyring {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw VaultError.notInitialized("no keyring file at \(path); run `tvault init`") }
            throw VaultError.keyringCorrupted("cannot read it (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw VaultError.keyringCorrupted("cannot read it (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 16 { throw VaultError.keyringCorrupted("the file is too large") }
        }
        return try Keyring(decoding: bytes)
    }

    /// The name a replaced keyring keeps until its content is zeroed (see ``save(path:faultPrefix:)``).
    static func retiredPath(_ path: String) -> String { path + ".old" }

    /// Replaces the keyring at `path` atomically and destroys the old content.
    ///
    /// Write a temporary file and fsync it; give the old keyring a second name (`<path>.old`)
    /// and fsync the directory; rename the temporary over `path` and fsync the directory; then
    /// overwrite the old file with zeros through its second name, fsync it and remove the name.
    /// The old sealed roots are thus never released to the file system intact: a crash before
    /// the zeroing leaves them on a name that the next open (or save) zeroes, not on an unlinked
    /// inode whose blocks the file system frees as they are. Where hard links are refused, the
    /// old file is zeroed through a descriptor kept open across the rename instead (a crash
    /// between the rename and the zeroing then releases it intact). An old file that cannot be
    /// zeroed keeps its second name, and the replacement, done, throws (see ``destroy(_:)``).
    ///
    /// `faultPrefix` names the crash points of the steps (`<prefix>.linked` before the rename,
    /// `<prefix>.renamed` before the zeroing) for tests; see ``FaultInjection``.
    func save(path: String, faultPrefix: String? = nil) throws {
        let bytes = encoded()
        let temporary = path + ".tmp"
        let retired = Self.retiredPath(path)
        try Self.destroyLeftovers(path: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create", path: temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let failure = Self.ioError("write", path: temporary)
            close(fd)
            try? Self.destroy(temporary)
            throw failure
        }
        close(fd)
        // The old keyring's second name, durable before the rename takes the first one away.
        // Without one (no old keyring, or a file system without hard links), a descriptor.
        let linked = link(path, retired) == 0
        var old: Int32 = -1
        defer { if old >= 0 { close(old) } }
        if linked {
            do {
                try Self.syncDirectory(of: path)
            } catch {
                unlink(retired)
                try? Self.destroy(temporary)
                throw error
            }
        } else {
            old = open(path, O_RDWR | O_CLOEXEC)
        }
        if let faultPrefix { FaultInjection.point(faultPrefix + ".linked") }
        guard rename(temporary, path) == 0 else {
            let failure = Self.ioError("rename", path: path)
            if linked { unlink(retired) }
            try? Self.destroy(temporary)
            throw failure
        }
        try Self.syncDirectory(of: path)
        if let faultPrefix { FaultInjection.point(faultPrefix + ".renamed") }
        if linked {
            try Self.destroy(retired)
            try Self.syncDirectory(of: path)
        } else if old >= 0 {
            _ = Self.zero(old)
        }
    }

    /// Zeroes and removes what an interrupted replacement of the keyring at `path` left: its
    /// temporary, which may hold roots (the step that adds an epoch), and the old keyring under
    /// its second name (the crash came before its zeroing). A name that is still the live
    /// keyring's is only removed: `.old` after a crash before the rename, `.tmp` after one inside
    /// it (rename(2) may leave both names on the new file for a moment, and a file system
    /// without a journal keeps that across a crash).
    static func destroyLeftovers(path: String) throws {
        var liveStatus = stat()
        let live = lstat(path, &liveStatus) == 0
        var removed = false
        for leftover in [path + ".tmp", retiredPath(path)] {
            var status = stat()
            guard lstat(leftover, &status) == 0 else { continue }
            if live && liveStatus.st_dev == status.st_dev && liveStatus.st_ino == status.st_ino {
                guard unlink(leftover) == 0 else { throw ioError("remove", path: leftover) }
            } else {
                try destroy(leftover)
            }
            removed = true
        }
        if removed { try syncDirectory(of: path) }
    }

    /// Overwrites the file at `path` with zeros, flushes it and removes it (no error if missing).
    /// A read-only file is made writable first. A regular file that cannot be zeroed keeps its
    /// name (an error), so that its content is never released intact; another kind of file
    /// (a symbolic link: never followed) only loses its name.
    static func destroy(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFREG {
            var fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            if fd < 0 && errno == EACCES && fchmodat(AT_FDCWD, path, 0o600, AT_SYMLINK_NOFOLLOW) == 0 {
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            }
            guard fd >= 0 else { throw ioError("open for zeroing", path: path) }
            let zeroed = zero(fd)
            close(fd)
            guard zeroed else { throw ioError("zero", path: path) }
        }
        unlink(path)
    }

    /// Overwrites the whole file open as `fd` with zeros and flushes it; whether it could.
    private static func zero(_ fd: Int32) -> Bool {
        var size = stat()
        guard fstat(fd, &size) == 0 else { return false }
        guard size.st_size > 0 else { return true }
        let zeros = [UInt8](repeating: 0, count: Int(size.st_size))
        let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return written == zeros.count && fsync(fd) == 0
    }

    static func syncDirectory(of path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path: directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync", path: directory) }
    }

    private static func ioError(_ step: String, path: String) -> VaultError {
        .unavailable("cannot \(step) \(path) (\(String(cString: strerror(errno))))")
    }
}
