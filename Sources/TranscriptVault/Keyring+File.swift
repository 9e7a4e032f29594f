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
    /// old file is zeroed through a descriptor kept open across the rename instead.
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
            close(fd)
            Self.destroy(temporary)
            throw Self.ioError("write", path: temporary)
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
                Self.destroy(temporary)
                throw error
            }
        } else {
            old = open(path, O_RDWR | O_CLOEXEC)
        }
        if let faultPrefix { FaultInjection.point(faultPrefix + ".linked") }
        guard rename(temporary, path) == 0 else {
            if linked { unlink(retired) }
            Self.destroy(temporary)
            throw Self.ioError("rename", path: path)
        }
        try Self.syncDirectory(of: path)
        if let faultPrefix { FaultInjection.point(faultPrefix + ".renamed") }
        if linked {
            Self.destroy(retired)
            try Self.syncDirectory(of: path)
        } else if old >= 0 {
            Self.zero(old)
        }
    }

    /// Zeroes and removes what an interrupted replacement of the keyring at `path` left: its
    /// temporary, which may hold roots (the step that adds an epoch), and the old keyring under
    /// its second name (the crash came before its zeroing). If that name is still the live
    /// keyring's (the crash came before the rename), only the name is removed.
    static func destroyLeftovers(path: String) throws {
        destroy(path + ".tmp")
        let retired = retiredPath(path)
        var retiredStatus = stat()
        guard lstat(retired, &retiredStatus) == 0 else { return }
        var liveStatus = stat()
        if lstat(path, &liveStatus) == 0 && liveStatus.st_dev == retiredStatus.st_dev && liveStatus.st_ino == retiredStatus.st_ino {
            guard unlink(retired) == 0 else { throw ioError("remove", path: retired) }
        } else {
            destroy(retired)
        }
        try syncDirectory(of: path)
    }

    /// Overwrites the file at `path` with zeros, flushes it and removes it (no error if missing).
    static func destroy(_ path: String) {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        if fd >= 0 {
            zero(fd)
            close(fd)
        }
        unlink(path)
    }

    /// Overwrites the whole file open as `fd` with zeros and flushes it, as far as it can.
    private static func zero(_ fd: Int32) {
        var size = stat()
        guard fstat(fd, &size) == 0, size.st_size > 0 else { return }
        let zeros = [UInt8](repeating: 0, count: Int(size.st_size))
        _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        fsync(fd)
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
