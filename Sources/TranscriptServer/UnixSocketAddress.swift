internal import Glibc

/// Builds a `sockaddr_un` for a path, and reads one back: the one place that lays out Unix
/// socket addresses for the server's own `connect`/`sendto`/`getsockname` calls.
enum UnixSocketAddress {
    /// Calls `body` with the address of `path` and its length, or returns `nil` when the path
    /// does not fit. With `abstractPrefix`, a leading `@` names the abstract namespace (as
    /// systemd writes `NOTIFY_SOCKET`); otherwise it is part of a file name.
    static func with<R>(_ path: String, abstractPrefix: Bool = false, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstractPrefix, bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The address a Unix socket descriptor is bound to (`getsockname`): its file path, or
    /// `@name` in the abstract namespace; `nil` when it is unnamed or not a Unix socket.
    static func boundPath(of descriptor: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let status = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let pathLength = Int(length) - MemoryLayout<sa_family_t>.size
        guard pathLength > 0 else { return nil }
        let bytes = withUnsafeBytes(of: &address.sun_path) { Array($0.prefix(pathLength)) }
        if bytes[0] == 0 {
            // Padding NULs (a name bound with the whole `sun_path`) are not worth showing.
            var name = bytes.dropFirst()
            while name.last == 0 { name.removeLast() }
            return "@" + String(decoding: name, as: UTF8.self)
        }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
