import ArgumentParser
import Foundation
import TranscriptAPI
import TranscriptVault

/// `tvault token`: bearer tokens for the client socket.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, list and revoke bearer tokens.",
        subcommands: [Issue.self, List.self, Revoke.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token bound to tenants and scopes. The token is printed once.",
            discussion: """
                Scopes: append, read, list, delete, export. Without --tenant the token covers
                every tenant (--all-tenants makes that explicit).

                Example:
                  tvault token issue --tenant acme --scopes append,read,list --format json
                  # {"id":"…","token":"tvt_…"}
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(name: .customLong("tenant"), help: "A tenant the token covers (repeatable).") var tenants: [String] = []
        @Flag(name: .customLong("all-tenants"), help: "Cover every tenant.") var allTenants = false
        @Option(help: "Comma-separated scopes.") var scopes: String = "append,read,list"

        func validate() throws {
            for tenant in tenants where !TenantName.isValid(tenant) {
                throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}")
            }
            if allTenants && !tenants.isEmpty { throw ValidationError("--tenant and --all-tenants exclude each other") }
            for scope in scopeList where TokenScope(rawValue: scope) == nil {
                throw ValidationError("unknown scope \(scope); scopes are append, read, list, delete, export")
            }
            if scopeList.isEmpty { throw ValidationError("name at least one scope") }
        }

        var scopeList: [String] { scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { w in
                    w.key("tenants")
                    if tenants.isEmpty { w.null() } else { w.array { w in for t in tenants { w.string(t) } } }
                    w.member("scopes", scopeList)
                }
                let result = try await AdminCall.run("token.issue", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    Output.line(result.object["token"]?.stringValue ?? "")
                    Output.error("token id \(result.object["id"]?.stringValue ?? "?"); the token is shown only now")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (never their secrets).",
            discussion: """
                Example:
                  tvault token list --format json
                  # {"tokens":[{"id":"…","tenants":["acme"],"scopes":["append","read"],
                  #  "created_at":"…","revoked":false}]}
                """
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let result = try await AdminCall.run("token.list", params: Array("{}".utf8), options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    let tokens = result.object["tokens"]?.arrayValue ?? []
                    if tokens.isEmpty { Output.line("No tokens.") }
                    for node in tokens {
                        guard let token = node.value.objectValue else { continue }
                        let tenants = token["tenants"]?.arrayValue?.compactMap(\.value.stringValue).joined(separator: ",") ?? "*"
                        let scopes = token["scopes"]?.arrayValue?.compactMap(\.value.stringValue).joined(separator: ",") ?? ""
                        let revoked = token["revoked"]?.boolValue == true ? "\trevoked" : ""
                        Output.line("\(token["id"]?.stringValue ?? "?")\t\(tenants)\t\(scopes)\(revoked)")
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token; the server refuses it from the next auth on.",
            discussion: """
                Example:
                  tvault token revoke 3f9a0c1b2d4e
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The token id (the <id> of tvt_<id>_<secret>).") var id: String

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("id", id) }
                let result = try await AdminCall.run("token.revoke", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line("Revoked token \(id)")
                }
            }
        }
    }
}
