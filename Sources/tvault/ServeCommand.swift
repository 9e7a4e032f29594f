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
            for it, printed once. SIGTERM or SIGINT stops the server gracefully: requests
            already read are answered, acknowledged writes are durable.

            Example:
              tvault serve                                # ./.tvault
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

    /// For benchmarks that separate the cost of the flush from the rest; hidden from `--help`
    /// (shown by `--help-hidden`) so that nobody meets it by accident.
    @Flag(name: .customLong("unsafe-no-sync"), help: ArgumentHelp(
        "Benchmarks only: commit without flushing to disk. An OS crash or power loss can lose acknowledged writes and corrupt the store.",
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
            if unsafeNoSync {
                configuration.durable = false
                logger.warning("--unsafe-no-sync: commits are not flushed to disk; an OS crash or power loss can lose acknowledged writes and corrupt the store")
            }
            let (vault, firstRun) = try openOrCreate(configuration)
            var serverConfiguration = ServerConfiguration(dataDirectory: configuration.dataDirectory)
            if let socket { serverConfiguration.socketPath = socket }
            serverConfiguration.adminSocketPath = options.adminSocketPath
            limits.configure(&serverConfiguration)
            if let threads { serverConfiguration.threads = threads }

            if firstRun {
                let tenant = try await vault.createTenant("default")
                let token = try await vault.issueToken(tenants: [tenant.name], scopes: Set(TokenScope.allCases))
                Output.line("Created a new store in \(configuration.dataDirectory.path)")
                if case .keyFile(let path) = configuration.unlock {
                    Output.line("  unlock key: \(path)  (keep it apart from backups of the store)")
                }
                Output.line("  tenant:     \(tenant.name)")
                Output.line("  token:      \(token.token)  (shown only now)")
            }
            let server = TranscriptServer(vault: vault, configuration: serverConfiguration, logger: logger) { sockets in
                Output.line("Listening on \(sockets.client)")
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
