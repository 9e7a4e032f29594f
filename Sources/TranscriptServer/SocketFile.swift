internal import Glibc

/// Puts a Unix socket in place with its final mode and no moment in which it is wider.
///
/// The socket is bound under a temporary name in the same directory, given its mode, and then
/// renamed to its path, so that a client can only ever reach it with the right permissions.
enum SocketFile {
    /// The longest path a `sockaddr_un` holds.
    static let maxPathBytes = 107

    static func temporaryPath(for path: String) -> String {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return directory + "/.tvs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    static func check(_ path: String) throws {
        guard path.utf8.count <= maxPathBytes else {
            throw ServerError.socket("the socket path \(path) is longer than \(maxPathBytes) bytes")
        }
    }

    static func finish(temporary: String, path: String, mode: mode_t) throws {
        guard chmod(temporary, mode) == 0 else {
            unlink(temporary)
            throw ServerError.socket("cannot set the mode of \(path) (\(String(cString: strerror(errno))))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ServerError.socket("cannot put the socket at \(path) (\(String(cString: strerror(errno))))")
        }
    }

    /// Whether something answers on the socket at `path`.
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return UnixSocketAddress.with(path) { connect(fd, $0, $1) == 0 } ?? false
    }
}

/// The one error type of the server module.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    static func socket(_ message: String) -> ServerError { ServerError(description: message) }
}
