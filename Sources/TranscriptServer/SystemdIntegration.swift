internal import Glibc

/// systemd socket activation (`LISTEN_FDS`) and readiness notification (`NOTIFY_SOCKET`).
enum SystemdIntegration {
    /// Descriptors passed by systemd for this process, by name (`LISTEN_FDNAMES`, else in
    /// order: the first is the client socket, the second the admin socket).
    static func inheritedSockets() -> (client: Int32?, admin: Int32?) {
        guard let pidText = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pidText) == getpid(),
              let countText = getenv("LISTEN_FDS").map({ String(cString: $0) }), let count = Int32(countText), count > 0
        else { return (nil, nil) }
        let names = getenv("LISTEN_FDNAMES").map { String(cString: $0).split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        var client: Int32?
        var admin: Int32?
        for index in 0..<count {
            let fd = 3 + index
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let name = Int(index) < names.count ? names[Int(index)] : ""
            if name.hasPrefix("admin") || (name.isEmpty && index == 1) {
                admin = admin ?? fd
            } else {
                client = client ?? fd
            }
        }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return (client, admin)
    }

    /// Tells systemd `state` (e.g. `READY=1`), when it asked to be told.
    static func notify(_ state: String) {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let message = Array(state.utf8)
        _ = UnixSocketAddress.with(path, abstractPrefix: true) { address, length in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
        }
    }
}
