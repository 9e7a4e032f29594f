public import TranscriptAPI
public import TranscriptVault
internal import Glibc

/// How the socket server runs.
///
/// ```swift
/// var configuration = ServerConfiguration(dataDirectory: vault.dataDirectory)
/// configuration.limits.requestsPerSecond = nil   // no per-token rate limit
/// ```
public struct ServerConfiguration: Sendable {
    /// The data directory; the sockets live in it unless set otherwise.
    public var dataDirectory: DataDirectory
    /// The client socket path (default `<data-dir>/tvault.sock`).
    public var socketPath: String
    /// The admin socket path (default `<data-dir>/admin.sock`).
    public var adminSocketPath: String
    /// The limits enforced and reported by `auth`; `requestsPerSecond` is per token.
    public var limits: APILimits
    /// Requests a token may burst above its rate.
    public var burst: Int
    /// Event-loop threads.
    public var threads: Int
    /// Whether to take sockets passed by systemd (`LISTEN_FDS`) when present.
    public var useSocketActivation: Bool = true

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
        self.socketPath = dataDirectory.socket
        self.adminSocketPath = dataDirectory.adminSocket
        var limits = APILimits()
        limits.requestsPerSecond = 10_000
        self.limits = limits
        self.burst = 20_000
        self.threads = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
    }
}
