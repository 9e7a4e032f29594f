import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TranscriptAPI
import UnixSignals
import TranscriptServer
import TranscriptVault

/// `tvault serve`: runs the socket server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server on <data-dir>/tvault.sock (creating the store on first run).",
        discussion: """
            With no store in the data directory, one is created with a generated unlock
            key (<data-dir>/unlock.key, mode 0400), a first tenant "default" and a token
            for it, printed once. When standard output is the systemd journal
            ($JOURNAL_STREAM), no token is issued, since the journal would keep it: issue
            one with `tvault token issue` once the server runs. SIGTERM or SIGINT stops the
            server gracefully: requests already read are answered, acknowledged writes are
            durable.

            With --format json the output is JSON lines: on the first run
            {"event":"created","data_dir":...,"unlock_key":...,"tenant":"default","token":"tvt_..."}
            ("token":null for the journal),
            then, once the sockets are bound, {"event":"listening","socket":...,"admin_socket":...}.

            Example:
              tvault serve                                # ./.tvault
              tvault serve --format json                  # for scripts: JSON lines
              tvault serve --data-dir /var/lib/tvault --unlock-key /etc/tvault/unlock.key
              tvault serve --max-message-bytes 1048576 --rate-limit 100 --rate-burst 500
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The client socket (default: <data-dir>/tvault.sock).", valueName: "path"))
    var socket: String?

    @OptionGroup var limits: ServeLimitOptions

    @Option(help: "Event-loop threads (default: the number of cores).")
    var threads: Int?

    @Option(name: .customLong("erasure-delay"), help: "Seconds a shred may wait for its erasure epoch (epochs are batched); 0 runs each at once; at most 2147483647.")
    var erasureDelay: Int = 60

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .customLong("idle-poll"), inversion: .prefixedNo, help: ArgumentHelp(
        "While concurrent writes are in flight, keep one otherwise idle processor polling (at the lowest scheduling priority) instead of halting, so that threads woken between batches start at once.",
        discussion: "It uses only processor time that nothing else wants, and is never used under a cgroup CPU quota. Turn it off where idle processor time is not free."))
    var idlePoll = true

    /// For benchmarks that separate the cost of the flush from the rest; hidden from `--help`
    /// (shown by `--help-hidden`) so that nobody meets it by accident.
    @Flag(name: .customLong("unsafe-no-sync"), help: ArgumentHelp(
        "Benchmarks only: commit without flushing to disk. Any crash (even of the process alone) can lose acknowledged writes; an OS crash or power loss can corrupt the store.",
        visibility: .hidden))
    var unsafeNoSync = false

    func validate() throws {
        guard (0...Int(Int32.max)).contains(erasureDelay) else {
            throw ValidationError("--erasure-delay must be between 0 and \(Int32.max) seconds, not \(erasureDelay)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
    }

    func run() async throws {
        try await runReportingErrors {
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "tvault")
            var configuration = try options.vaultConfiguration()
            limits.configure(&configuration)
            configuration.idlePolling = idlePoll
            if unsafeNoSync {
                configuration.durable = false
                logger.warning("--unsafe-no-sync: commits are not flushed to disk; any crash can lose acknowledged writes, and an OS crash or power loss can corrupt the store")
            }
            let (vault, firstRun) = try openOrCreate(configuration)
            var serverConfiguration = ServerConfiguration(dataDirectory: configuration.dataDirectory)
            if let socket { serverConfiguration.socketPath = socket }
            serverConfiguration.adminSocketPath = options.adminSocketPath
            limits.configure(&serverConfiguration)
            if let threads { serverConfiguration.threads = threads }

            if firstRun {
                let tenant = try await vault.createTenant("default")
                // A secret must not reach a log: the journal keeps what it is given.
                let token = Self.standardOutputIsJournal
                    ? nil : try await vault.issueToken(tenants: [tenant.name], scopes: Set(TokenScope.allCases))
                var unlockKey: String?
                if case .keyFile(let path) = configuration.unlock { unlockKey = path }
                // Printed at once: should the sockets fail to bind, the token is not lost.
                Self.announceCreated(format: options.format, dataDirectory: configuration.dataDirectory.path,
                                     tenant: tenant.name, token: token?.token, unlockKey: unlockKey,
                                     adminSocket: options.adminSocketPath == configuration.dataDirectory.adminSocket
                                         ? nil : options.adminSocketPath)
            }
            let format = options.format
            let server = TranscriptServer(vault: vault, configuration: serverConfiguration, logger: logger) { sockets in
                Self.announceListening(format: format, sockets: sockets)
            }
            let scheduler = ErasureScheduler(vault: vault, delayMilliseconds: Int64(erasureDelay) * 1000, logger: logger)
            let group = ServiceGroup(configuration: .init(
                services: [server, scheduler], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                vault.close()
                throw CLIError.failure("the server stopped: \(error)")
            }
            vault.close()
        }
    }

    /// Prints the new store's tenant and token (shown only now): as text, a few lines; as JSON,
    /// the line `{"event":"created",...}`.
    /// Without a token (standard output is the journal), says how to issue one.
    private static func announceCreated(format: OutputFormat, dataDirectory: String, tenant: String, token: String?, unlockKey: String?, adminSocket: String?) {
        switch format {
        case .text:
            Output.line("Created a new store in \(dataDirectory)")
            if let unlockKey {
                Output.line("  unlock key: \(unlockKey)  (keep it apart from backups of the store)")
            }
            Output.line("  tenant:     \(tenant)")
            if let token {
                Output.line("  token:      \(token)  (shown only now)")
            } else {
                Output.line("  token:      none issued: standard output is the journal, which would keep it;")
                // The server's admin socket, when not the data directory's: the command reaches it there.
                let socket = adminSocket.map { " --admin-socket \($0)" } ?? ""
                Output.line("              issue one with: tvault token issue --tenant \(tenant) --scopes append,read --data-dir \(dataDirectory)\(socket)")
            }
        case .json:
            var out = JSONWriter()
            out.object { w in
                w.member("event", "created")
                w.member("data_dir", dataDirectory)
                w.member("unlock_key", unlockKey)
                w.member("tenant", tenant)
                w.member("token", token)
            }
            Output.raw(out.bytes)
        }
    }

    /// Whether standard output is the systemd journal: `JOURNAL_STREAM` names its device and
    /// inode (`<dev>:<ino>`, as systemd sets it for a service's output).
    ///
    /// When standard output and standard error are two journal streams (their settings
    /// differ, as `StandardOutput=journal` with `StandardError=journal+console`), systemd names
    /// standard error's: a standard output that is a socket beside it is then taken for the
    /// journal too (systemd connects it to a socket only for the journal, or for
    /// `StandardOutput=socket`, where a token has no business either).
    static var standardOutputIsJournal: Bool {
        guard let value = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        func named(_ fd: Int32) -> stat? {
            var status = stat()
            guard fstat(fd, &status) == 0, UInt64(status.st_dev) == device, UInt64(status.st_ino) == inode else { return nil }
            return status
        }
        if named(STDOUT_FILENO) != nil { return true }
        guard named(STDERR_FILENO) != nil else { return false }
        var output = stat()
        guard fstat(STDOUT_FILENO, &output) == 0 else { return false }
        return output.st_mode & S_IFMT == S_IFSOCK
    }

    /// Prints where the server listens, once its sockets are bound: as text `Listening on PATH`;
    /// as JSON the line `{"event":"listening","socket":...,"admin_socket":...}`.
    private static func announceListening(format: OutputFormat, sockets: ListeningSockets) {
        switch format {
        case .text:
            Output.line("Listening on \(sockets.client)")
        case .json:
            var out = JSONWriter()
            out.object { w in
                w.member("event", "listening")
                w.member("socket", sockets.client)
                w.member("admin_socket", sockets.admin)
            }
            Output.raw(out.bytes)
        }
    }

    private func openOrCreate(_ configuration: Vault.Configuration) throws -> (Vault, Bool) {
        do {
            if configuration.dataDirectory.isInitialized {
                return (try Vault.open(configuration), false)
            }
            return (try Vault.initialize(configuration), true)
        } catch let error as VaultError {
            throw CLIError(error)
        }
    }
}
