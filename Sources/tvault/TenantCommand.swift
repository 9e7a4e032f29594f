import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault tenant`: tenant management.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list and show tenants.",
        subcommands: [Create.self, List.self, Show.self, Shred.self, CancelShred.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant with its own key-encryption key.",
            discussion: """
                Names match [a-z0-9][a-z0-9-]{0,62}. Works while the server runs (through
                admin.sock) and offline.

                Example:
                  tvault tenant create acme --format json    # prints {"tenant":"acme"}
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant's name.") var name: String

        func validate() throws {
            guard TenantName.isValid(name) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
        }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("name", name) }
                let result = try await AdminCall.run("tenant.create", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line("Created tenant \(result.object["tenant"]?.stringValue ?? name)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tenants.",
            discussion: """
                Example:
                  tvault tenant list --format json
                  # {"tenants":[{"name":"acme","state":"active","created_at":"…",
                  #  "kek_version":1,"epoch":1,"retention_days":null}]}
                """
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let result = try await AdminCall.run("tenant.list", params: Array("{}".utf8), options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    let tenants = result.object["tenants"]?.arrayValue ?? []
                    if tenants.isEmpty { Output.line("No tenants.") }
                    for node in tenants {
                        guard let tenant = node.value.objectValue else { continue }
                        Output.line(TenantCommand.describe(tenant))
                    }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one tenant.",
            discussion: """
                Example:
                  tvault tenant show acme --format json
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant's name.") var name: String

        func validate() throws {
            guard TenantName.isValid(name) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
        }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("name", name) }
                let result = try await AdminCall.run("tenant.show", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line(TenantCommand.describe(result.object))
                }
            }
        }
    }

    struct Shred: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Schedule a whole tenant for crypto-shredding after a waiting period.",
            discussion: """
                From now on every request for the tenant answers -32010 (tenant shredded).
                After the waiting period (default 7 days) its keys are deleted, then its
                records; the erasure epoch destroys the root that wrapped its keys. `tvault
                tenant cancel-shred` undoes it until then. --now skips the wait.

                Example:
                  tvault tenant shred acme --yes
                  tvault tenant shred acme --now --yes
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant's name.") var name: String
        @Option(name: .customLong("delay-days"), help: "Days to wait before shredding (default: 7; at most 36500).")
        var delayDays: Int?
        @Flag(help: "Shred at once, without a waiting period (not with --delay-days).") var now = false
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func validate() throws {
            guard TenantName.isValid(name) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
            if let delayDays {
                guard (0...Self.maxDelayDays).contains(delayDays) else {
                    throw ValidationError("--delay-days must be between 0 and \(Self.maxDelayDays), not \(delayDays)")
                }
                guard !now else { throw ValidationError("--now and --delay-days contradict each other: give one") }
            }
        }

        /// The longest waiting period accepted: 100 years.
        static let maxDelayDays = 36_500
        static let defaultDelayDays = 7

        func run() async throws {
            try await runReportingErrors {
                let days = now ? 0 : delayDays ?? Self.defaultDelayDays
                let when = now ? "now" : "in \(days) day(s)"
                try Confirmation.require("Shred tenant \(name) and all its data \(when)?", yes: yes)
                var params = JSONWriter()
                params.object { w in
                    w.member("name", name)
                    w.member("delay_ms", Int64(days) * 86_400_000)
                }
                let result = try await AdminCall.run("tenant.shred", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    if let receipt = result.object["receipt"]?.objectValue {
                        Output.line("Shredded tenant \(name). Receipt \(receipt["id"]?.stringValue ?? "?"): \(receipt["status"]?.stringValue ?? "?")")
                    } else {
                        Output.line("Tenant \(name) will be shredded at \(result.object["shred_at"]?.stringValue ?? "?"); `tvault tenant cancel-shred \(name)` undoes it until then.")
                    }
                }
            }
        }
    }

    struct CancelShred: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel-shred",
            abstract: "Cancel a scheduled tenant shred that has not happened yet.",
            discussion: """
                Example:
                  tvault tenant cancel-shred acme
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant's name.") var name: String

        func validate() throws {
            guard TenantName.isValid(name) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
        }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("name", name) }
                let result = try await AdminCall.run("tenant.cancel_shred", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line("Tenant \(name) is active again.")
                }
            }
        }
    }

    static func describe(_ tenant: JSONObject) -> String {
        let name = tenant["name"]?.stringValue ?? "?"
        let state = tenant["state"]?.stringValue ?? "?"
        let kek = tenant["kek_version"]?.numberValue?.text ?? "?"
        let created = tenant["created_at"]?.stringValue ?? "?"
        return "\(name)\t\(state)\tkek v\(kek)\tcreated \(created)"
    }
}
