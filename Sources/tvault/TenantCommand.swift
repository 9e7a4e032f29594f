import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault tenant`: tenant management.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list and show tenants.",
        subcommands: [Create.self, List.self, Show.self]
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
                  # {"tenants":[{"name":"acme","state":"active","created_at":"…","kek_version":1,"epoch":1,"retention_days":null}]}
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

    static func describe(_ tenant: JSONObject) -> String {
        let name = tenant["name"]?.stringValue ?? "?"
        let state = tenant["state"]?.stringValue ?? "?"
        let kek = tenant["kek_version"]?.numberValue?.text ?? "?"
        let created = tenant["created_at"]?.stringValue ?? "?"
        return "\(name)\t\(state)\tkek v\(kek)\tcreated \(created)"
    }
}
