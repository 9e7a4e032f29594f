internal import Glibc

/// Puts a Unix socket in place with its final mode and no moment in which it is wider.
///
/// The socket is bound in a fresh private directory (mode 0700) beside its path, given its mode
/// there, and then renamed to its path: until the rename nobody else can reach it, whatever the
/// process's umask made of it at `bind`, and after it it has its final mode.
enum SocketFile {
    /// The longest path a `sockaddr_un` holds.
    static let maxPathBytes = 107
    /// The private directory's name under the socket's directory, for `mkdtemp`.
    static let directoryTemplate = ".tvs-XXXXXX"
    /// The socket's name inside it.
    static let temporaryName = "s"

    /// The directory that holds `path`.
    static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }

    /// Refuses a path that does not fit a `sockaddr_un`, or whose temporary name beside it
    /// would not.
    static func check(_ path: String) throws {
        guard path.utf8.count <= maxPathBytes else {
            throw ServerError.socket("the socket path \(path) is longer than \(maxPathBytes) bytes")
        }
        let temporary = directory(of: path) + "/" + directoryTemplate + "/" + temporaryName
        guard temporary.utf8.count <= maxPathBytes else {
            throw ServerError.socket("the socket path \(path) is too long: the server first binds it as \(temporary), " +
                                     "which is longer than \(maxPathBytes) bytes")
        }
    }

    /// Binds a listener with `bind` at a temporary path in a new private directory beside
    /// `path`, gives the socket `mode` and moves it to `path` (replacing what is there); closes
    /// it with `close` if that fails. The private directory is gone when this returns.
    static func place<Listener>(
        _ path: String, mode: mode_t,
        bind: (String) async throws -> Listener, close: (Listener) async -> Void
    ) async throws -> Listener {
        try check(path)
        var template = Array((directory(of: path) + "/" + directoryTemplate).utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ServerError.socket("cannot create a private directory beside \(path) (\(String(cString: strerror(errno))))")
        }
        let privateDirectory = String(cString: created)
        defer { rmdir(privateDirectory) }
        let temporary = privateDirectory + "/" + temporaryName
        let listener: Listener
        do {
            listener = try await bind(temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        do {
            guard chmod(temporary, mode) == 0 else {
                throw ServerError.socket("cannot set the mode of \(path) (\(String(cString: strerror(errno))))")
            }
            guard rename(temporary, path) == 0 else {
                throw ServerError.socket("cannot put the socket at \(path) (\(String(cString: strerror(errno))))")
            }
        } catch {
            await close(listener)
            unlink(temporary)
            throw error
        }
        return listener
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
