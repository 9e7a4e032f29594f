import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault key`: key rotation.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Rotate tenant KEKs and the root key, online.",
        subcommands: [Rotate.self, RotateRoot.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a tenant's key-encryption key: re-wrap every DEK, then destroy the old version.",
            discussion: """
                The server keeps serving meanwhile. An interrupted rotation is finished by the
                next run of this command (or by the server at start).

                Example:
                  tvault key rotate --tenant acme --yes
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(help: "The tenant.") var tenant: String
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func validate() throws {
            guard TenantName.isValid(tenant) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
        }

        func run() async throws {
            try await runReportingErrors {
                try Confirmation.require("Rotate the KEK of tenant \(tenant)?", yes: yes)
                var params = JSONWriter()
                params.object { $0.member("tenant", tenant) }
                let result = try await AdminCall.run("key.rotate", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    let version = result.object["kek_version"]?.numberValue?.text ?? "?"
                    let count = result.object["rewrapped"]?.numberValue?.text ?? "?"
                    Output.line("Tenant \(tenant) is on KEK version \(version); \(count) DEKs re-wrapped.")
                }
            }
        }
    }

    struct RotateRoot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-root",
            abstract: "Rotate the root key: every KEK is re-wrapped under a new root, the old root destroyed.",
            discussion: """
                Backups taken before the rotation need the old root and become unreadable.

                Example:
                  tvault key rotate-root --yes
                """
        )

        @OptionGroup var options: GlobalOptions
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func run() async throws {
            try await runReportingErrors {
                try Confirmation.require("Rotate the root key? Backups taken before it become unreadable.", yes: yes)
                let result = try await AdminCall.run("key.rotate_root", params: Array("{}".utf8), options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line("Root epoch is now \(result.object["epoch"]?.numberValue?.text ?? "?").")
                }
            }
        }
    }
}
