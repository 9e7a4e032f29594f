public import TranscriptAPI
public import TranscriptVault
internal import Glibc

/// How the socket server runs.
///
/// ```swift
/// var configuration = ServerConfiguration(dataDirectory: vault.dataDirectory)
/// configuration.limits.requestsPerSecond = 50    // the burst follows: 100
/// configuration.limits.requestsPerSecond = nil   // no per-token rate limit
/// ```
public struct ServerConfiguration: Sendable {
    /// The seconds' worth of a token's rate it may spend at once, unless ``burst`` is set.
    public static let burstSeconds = 2

    /// The data directory; the sockets live in it unless set otherwise.
    public var dataDirectory: DataDirectory
    /// The client socket path (default `<data-dir>/tvault.sock`).
    public var socketPath: String
    /// The admin socket path (default `<data-dir>/admin.sock`).
    public var adminSocketPath: String
    /// The limits enforced and reported by `auth`; `requestsPerSecond` is per token.
    ///
    /// The engine checks message sizes and counts too: raising `messageBytes` or
    /// `messagesPerAppend` above its defaults needs the same values in the vault's
    /// `Vault.Configuration` (`maxMessageBytes`, `maxMessagesPerAppend`).
    public var limits: APILimits
    /// Event-loop threads.
    public var threads: Int
    /// Whether to take sockets passed by systemd (`LISTEN_FDS`) when present.
    public var useSocketActivation: Bool = true
    /// How long a graceful shutdown waits, after it begins, for client connections that still
    /// owe answers (a client that does not read them would hold it until its idle timeout):
    /// then they are closed. Acknowledged writes are durable either way.
    public var shutdownGrace: Duration = .seconds(10)
    /// The burst set explicitly, if any.
    private var fixedBurst: Int?

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
        self.socketPath = dataDirectory.socket
        self.adminSocketPath = dataDirectory.adminSocket
        var limits = APILimits()
        limits.requestsPerSecond = 10_000
        self.limits = limits
        self.threads = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
    }

    /// The requests a token may make at once, before its rate applies.
    ///
    /// Unless set, it follows the rate: ``burstSeconds`` seconds' worth of
    /// `limits.requestsPerSecond` (20,000 at the default 10,000 a second), so that a low rate
    /// is not drowned by a fixed burst. Irrelevant when there is no rate limit.
    public var burst: Int {
        get { fixedBurst ?? Self.defaultBurst(forRate: limits.requestsPerSecond ?? 0) }
        set { fixedBurst = newValue }
    }

    /// ``burstSeconds`` seconds' worth of `rate`, at least 1.
    public static func defaultBurst(forRate rate: Int) -> Int {
        let (burst, overflow) = rate.multipliedReportingOverflow(by: burstSeconds)
        return overflow ? Int.max : max(burst, 1)
    }
}
