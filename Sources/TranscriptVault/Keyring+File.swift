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

    /// Replaces the keyring at `path` atomically and destroys the old content.
    ///
    /// Write a temporary file, fsync it, rename it over the old one, fsync the directory;
    /// then overwrite the old file's blocks (still open by descriptor) with zeros and fsync,
    /// so that the old sealed roots are not released to the file system intact.
    func save(path: String) throws {
        let bytes = encoded()
        let temporary = path + ".tmp"
        // A temporary a crash left may hold roots (the step that added an epoch): zeroed, not
        // merely released.
        Self.destroy(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create", path: temporary) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            close(fd)
            Self.destroy(temporary)
            throw Self.ioError("write", path: temporary)
        }
        close(fd)
        let old = open(path, O_RDWR | O_CLOEXEC)
        defer { if old >= 0 { close(old) } }
        guard rename(temporary, path) == 0 else {
            Self.destroy(temporary)
            throw Self.ioError("rename", path: path)
        }
        try Self.syncDirectory(of: path)
        if old >= 0 { Self.zero(old) }
    }

    /// Overwrites the file at `path` with zeros, flushes it and removes it (no error if missing).
    static func destroy(_ path: String) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
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
