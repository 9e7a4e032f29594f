/// The sockets a running server serves, as it reports them once it listens.
///
/// Under systemd socket activation these are the sockets systemd passed, wherever they are,
/// not the configured paths.
///
/// ```swift
/// let server = TranscriptServer(vault: vault, configuration: configuration, logger: logger) { sockets in
///     print("Listening on \(sockets.client)")
/// }
/// ```
public struct ListeningSockets: Sendable, Equatable {
    /// The client socket: a file path, `@name` for an abstract socket passed by systemd, or a
    /// description of an unnamed passed descriptor.
    public var client: String
    /// The admin socket, described the same way.
    public var admin: String

    /// Creates a description of the sockets served.
    public init(client: String, admin: String) {
        self.client = client
        self.admin = admin
    }

    /// How a socket passed by systemd as `descriptor` is named: the address it is bound to.
    static func passed(_ descriptor: Int32) -> String {
        UnixSocketAddress.boundPath(of: descriptor) ?? "the unnamed socket passed as descriptor \(descriptor)"
    }
}
