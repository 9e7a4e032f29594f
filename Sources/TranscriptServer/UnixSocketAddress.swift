internal import Glibc

/// Builds a `sockaddr_un` for a path: the one place that lays out Unix socket addresses for the
/// server's own `connect`/`sendto` calls.
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
}
