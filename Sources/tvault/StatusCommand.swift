import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault status`: is there a store, is a server running it, and a few figures.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether the store exists, whether a server owns it, and a few figures.",
        discussion: """
            Works while the server runs (through admin.sock) and offline. Exits with 1
            when the data directory holds no store, or when a server owns it but is not
            reachable at the admin socket (its figures are then null); the answer is printed
            all the same. Exits with 2 when the store cannot be unlocked.

            Example:
              tvault status --data-dir /var/lib/tvault --format json
              # {"initialized":true,"server_running":true,"data_dir":"/var/lib/tvault",
              #  "socket":"/var/lib/tvault/tvault.sock",
              #  "admin_socket":"/var/lib/tvault/admin.sock",
              #  "version":"0.1.0","tenants":2,"epoch":1,"audit_records":7}
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let directory = DataDirectory(path: options.dataDirectory)
            let running = directory.isOwnedByAnotherProcess
            // A store whose keyring is missing is there all the same: opening it says so (exit 2).
            let initialized = running || directory.isInitialized || directory.holdsStore
            var figures: JSONObject?
            // A server whose admin socket is elsewhere is still found (by its lock): say so,
            // then fail with the path tried.
            var unreachable: (any Error)?
            if initialized {
                do {
                    figures = try await AdminCall.run("status", params: Array("{}".utf8), options: options).object
                } catch {
                    guard running else { throw error }
                    unreachable = error
                }
            }
            var out = JSONWriter()
            out.object { w in
                w.member("initialized", initialized)
                w.member("server_running", running)
                w.member("data_dir", directory.path)
                w.member("socket", directory.socket)
                w.member("admin_socket", options.adminSocketPath)
                w.member("version", figures?["version"]?.stringValue ?? TVaultVersion.current)
                for name in ["tenants", "epoch", "audit_records"] {
                    w.key(name)
                    if let number = figures?[name]?.numberValue { w.number(number) } else { w.null() }
                }
            }
            switch options.format {
            case .json:
                Output.raw(out.bytes)
            case .text:
                Output.line("Store:          \(directory.path) (\(initialized ? "initialised" : "no store"))")
                Output.line("Server:         \(running ? "running" : "not running")")
                Output.line("Socket:         \(directory.socket)")
                Output.line("Admin socket:   \(options.adminSocketPath)")
                Output.line("Version:        \(figures?["version"]?.stringValue ?? TVaultVersion.current)")
                if let figures {
                    Output.line("Tenants:        \(figures["tenants"]?.numberValue?.text ?? "?")")
                    Output.line("Root epoch:     \(figures["epoch"]?.numberValue?.text ?? "?")")
                    Output.line("Audit records:  \(figures["audit_records"]?.numberValue?.text ?? "?")")
                }
            }
            if let unreachable { throw unreachable }
            if !initialized {
                throw CLIError.failure(directory.noStoreMessage)
            }
        }
    }
}
