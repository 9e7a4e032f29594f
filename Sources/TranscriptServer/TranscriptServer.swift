public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
public import TranscriptVault
import TranscriptAPI
internal import Glibc

/// The socket server: `tvault.sock` for clients (mode 0660) and `admin.sock` for the owning
/// user (mode 0600, checked with `SO_PEERCRED`), newline-delimited JSON-RPC 2.0 on both.
///
/// It is a `Service`: run it in a `ServiceGroup` with SIGTERM/SIGINT as graceful shutdown
/// signals. On shutdown it stops accepting, answers every request already read (new ones on
/// open connections get `-32050`), closes each connection once it owes nothing, and returns;
/// the caller then closes the vault, which finishes pending writes.
///
/// ```swift
/// let server = TranscriptServer(vault: vault, configuration: ServerConfiguration(dataDirectory: vault.dataDirectory), logger: logger)
/// let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
public final class TranscriptServer: Service, Sendable {
    let vault: Vault
    let configuration: ServerConfiguration
    let logger: Logger
    let dispatcher: Dispatcher
    let registry = ConnectionRegistry()
    /// The admin connections, drained on shutdown like client connections (without a limit).
    let adminRegistry = ConnectionRegistry()
    let onReady: (@Sendable (ListeningSockets) -> Void)?

    /// Creates a server; it listens when run.
    ///
    /// - Parameters:
    ///   - onReady: Called once both sockets listen, with the sockets actually served (under
    ///     socket activation, those systemd passed).
    public init(
        vault: Vault, configuration: ServerConfiguration, logger: Logger,
        onReady: (@Sendable (ListeningSockets) -> Void)? = nil
    ) {
        self.vault = vault
        self.configuration = configuration
        self.logger = logger
        self.dispatcher = Dispatcher(vault: vault, limits: configuration.limits, burst: configuration.burst)
        self.onReady = onReady
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        do {
            try await serve(on: group)
        } catch {
            await dispatcher.decodesDone()
            try? await group.shutdownGracefully()
            throw error
        }
        // Every connection is closed: a line still in the decoder finds its connection gone.
        await dispatcher.decodesDone()
        try await group.shutdownGracefully()
    }

    private func serve(on group: MultiThreadedEventLoopGroup) async throws {
        let inherited: (client: Int32?, admin: Int32?) = configuration.useSocketActivation
            ? SystemdIntegration.inheritedSockets() : (nil, nil)
        let sockets = ListeningSockets(
            client: inherited.client.map(ListeningSockets.passed) ?? configuration.socketPath,
            admin: inherited.admin.map(ListeningSockets.passed) ?? configuration.adminSocketPath)
        let client = try await listenForClients(group: group, inherited: inherited.client)
        let admin: NIOAsyncChannel<AdminChannel, Never>
        do {
            admin = try await listenForAdmin(group: group, inherited: inherited.admin)
        } catch {
            try? await client.close()
            throw error
        }
        logger.info("listening", metadata: ["socket": "\(sockets.client)", "admin_socket": "\(sockets.admin)"])
        SystemdIntegration.notify("READY=1")
        onReady?(sockets)
        let registry = registry
        let adminRegistry = adminRegistry
        let grace = configuration.shutdownGrace
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask {
                    // The listener closes for shutdown only; then every connection drains, for at
                    // most the grace: a client that reads none of its answers cannot hold it.
                    try? await client.closeFuture.get()
                    await registry.waitUntilEmpty(closingAfter: grace)
                }
                tasks.addTask {
                    // admin.sock has no idle timeout: a peer that reads none of its answers
                    // would hold the shutdown forever (its connection's task waits on a write).
                    // Those still open once the grace is over are closed, as client
                    // connections are; a request in hand still runs to its end.
                    try? await admin.channel.closeFuture.get()
                    await adminRegistry.waitUntilEmpty(closingAfter: grace)
                }
                tasks.addTask {
                    try await self.accept(admin)
                    // The listener may have accepted connections it never handed out.
                    adminRegistry.closeAccepted()
                    await adminRegistry.waitUntilEmpty()
                }
            }
        } onGracefulShutdown: {
            SystemdIntegration.notify("STOPPING=1")
            client.close(promise: nil)
            admin.channel.close(promise: nil)
            registry.drainAll()
            adminRegistry.drainAll()
        }
        if inherited.client == nil { unlink(configuration.socketPath) }
        if inherited.admin == nil { unlink(configuration.adminSocketPath) }
        logger.info("stopped")
    }

    private func accept(_ server: NIOAsyncChannel<AdminChannel, Never>) async throws {
        do {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { connections in
                    for try await connection in inbound {
                        connections.addTask { await self.serveAdmin(connection) }
                    }
                }
            }
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
            // The listener was closed for shutdown.
        }
    }

    private func serveAdmin(_ connection: AdminChannel) async {
        do {
            guard await PeerCredentials.isOwner(connection.channel) else {
                let error = RPCError.unauthenticated("the admin socket serves its owner only")
                try await connection.write(RPCResponse.failureLine(id: .null, error: error))
                await connection.close()
                return
            }
            guard let entry = adminRegistry.add(connection.channel, limit: .max, waiting: { connection.hasWaitingFrames }) else {
                let error = RPCError.unavailable("the server is shutting down")
                try await connection.write(RPCResponse.failureLine(id: .null, error: error))
                await connection.close()
                return
            }
            defer { adminRegistry.remove(entry) }
            try await AdminConnection(connection: connection, entry: entry, admin: AdminDispatcher(vault: vault), limits: configuration.limits).run()
        } catch {
            await connection.close()
            logger.debug("admin connection ended", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// `tvault.sock`: each connection served by a ``ClientConnectionHandler`` on its event loop.
    private func listenForClients(group: MultiThreadedEventLoopGroup, inherited: Int32?) async throws -> any Channel {
        let limits = configuration.limits
        let dispatcher = dispatcher
        let registry = registry
        let mailboxes = CompletionMailboxes(group: group)
        let bootstrap = Self.listener(group: group, counting: registry)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let work = ConnectionWork()
                    let mailbox = mailboxes.mailbox(for: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandlers([
                        ConnectionTimeoutHandler(
                            unauthenticatedTimeout: .milliseconds(limits.unauthenticatedIdleTimeoutMs),
                            idleTimeout: .milliseconds(limits.idleTimeoutMs), authenticated: false, work: work),
                        // Frames its own lines (see the handler).
                        ClientConnectionHandler(
                            dispatcher: dispatcher, registry: registry, mailbox: mailbox,
                            connectionLimit: limits.connections, work: work),
                    ])
                }
            }
        if let inherited {
            return try await bootstrap.withBoundSocket(inherited).get()
        }
        return try await bindFile(configuration.socketPath, mode: 0o660,
                                  bind: { try await bootstrap.bind(unixDomainSocketPath: $0, cleanupExistingSocketFile: true).get() },
                                  close: { try? await $0.close() })
    }

    /// `admin.sock`: one task per connection, one request at a time; no idle timeout (it serves
    /// its owner only and runs long requests such as verify and backup).
    private func listenForAdmin(
        group: MultiThreadedEventLoopGroup, inherited: Int32?
    ) async throws -> NIOAsyncChannel<AdminChannel, Never> {
        let limits = configuration.limits
        let bootstrap = Self.listener(group: group, counting: adminRegistry)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<AdminChannel> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try AdminChannel.install(on: channel, lineBytes: limits.lineBytes)
            }
        }
        if let inherited {
            return try await bootstrap.bind(inherited, childChannelInitializer: initializer)
        }
        return try await bindFile(configuration.adminSocketPath, mode: 0o600,
                                  bind: { try await bootstrap.bind(unixDomainSocketPath: $0, cleanupExistingSocketFile: true, childChannelInitializer: initializer) },
                                  close: { try? await $0.channel.close() })
    }

    /// A listener's bootstrap: its backlog, remote half-closure and write-buffer water marks for
    /// its connections, and `registry` counting each connection the moment it is accepted, so
    /// that a shutdown waits for it (``ConnectionRegistry/accepted(_:)``).
    private static func listener(group: MultiThreadedEventLoopGroup, counting registry: ConnectionRegistry) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionRegistry.AcceptCounter(registry: registry))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // A connection whose answers wait unsent past 4 MiB stops being read, and starts
            // no further read or list, until they are down to 1 MiB (see the connection
            // handler): what a client that does not read costs the server stays bounded.
            .childChannelOption(.writeBufferWaterMark, value: ChannelOptions.Types.WriteBufferWaterMark(low: Self.answersLow, high: Self.answersHigh))
    }

    /// The write-buffer water marks of a client connection (see `listener`).
    static let answersHigh = 4 << 20
    static let answersLow = 1 << 20

    /// Binds a socket file at `path` without a window of wider access (see ``SocketFile``).
    /// Refuses a path another server answers on.
    private func bindFile<Listener>(
        _ path: String, mode: mode_t,
        bind: (String) async throws -> Listener, close: (Listener) async -> Void
    ) async throws -> Listener {
        if SocketFile.isLive(path) {
            throw ServerError.socket("another server answers on \(path)")
        }
        return try await SocketFile.place(path, mode: mode, bind: bind, close: close)
    }
}
