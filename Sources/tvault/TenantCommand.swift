import ArgumentParser
import TranscriptVault

/// `tvault tenant`: tenant management.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create and list tenants.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant with its own key-encryption key.",
            discussion: """
                Names match [a-z0-9][a-z0-9-]{0,62}.

                Example:
                  tvault tenant create acme --format json    # prints {"tenant":"acme"}
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The tenant's name.") var name: String

        func validate() throws {
            guard TenantName.isValid(name) else {
                throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}")
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let vault = try options.openVault()
                defer { vault.close() }
                let tenant: Tenant
                do { tenant = try await vault.createTenant(name) } catch let error as VaultError { throw CLIError(error) }
                switch options.format {
                case .json: Output.json(["tenant": tenant.name])
                case .text: Output.line("Created tenant \(tenant.name)")
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
                  # {"tenants":[{"created_at":"…","epoch":1,"kek_version":1,"name":"acme","state":"active"}]}
                """
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let vault = try options.openVault()
                defer { vault.close() }
                let tenants = try vault.tenants()
                switch options.format {
                case .json:
                    Output.json(["tenants": tenants.map { tenant in
                        [
                            "name": tenant.name, "state": tenant.state.rawValue,
                            "created_at": Output.timestamp(tenant.createdAt),
                            "kek_version": Int(tenant.kekVersion), "epoch": Int(tenant.epoch),
                        ] as [String: Any]
                    }])
                case .text:
                    if tenants.isEmpty { Output.line("No tenants.") }
                    for tenant in tenants {
                        Output.line("\(tenant.name)\t\(tenant.state.rawValue)\tkek v\(tenant.kekVersion)\tcreated \(Output.timestamp(tenant.createdAt))")
                    }
                }
            }
        }
    }
}
