import ArgumentParser
import TranscriptAPI

/// `tvault stats`: figures about the store, from its records, never its content.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Count tenants, conversations, messages, bytes, key versions and map use.",
        discussion: """
            Computed by scanning tenant and conversation records; no message is decrypted
            and no content is printed. Works while the server runs (through admin.sock)
            and offline.

            Example:
              tvault stats --format json
              # {"epoch":1,"tenants":1,"conversations":3,"messages":40,"bytes":5120,
              #  "tokens":1,"audit_records":4,
              #  "map":{"size":67108864,"used":131072,"page_size":4096,"file_bytes":131072},
              #  "by_tenant":[{"name":"acme","state":"active","epoch":1,"kek_version":1,
              #   "kek_versions":[1],"conversations_by_kek_version":{"1":3},
              #   "conversations":3,"messages":40,"bytes":5120}]}
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let result = try await AdminCall.run("stats", params: Array("{}".utf8), options: options)
            switch options.format {
            case .json: Output.raw(result.bytes)
            case .text: Self.printText(result.object)
            }
        }
    }

    static func printText(_ stats: JSONObject) {
        func number(_ object: JSONObject?, _ name: String) -> String { object?[name]?.numberValue?.text ?? "?" }
        func bytes(_ object: JSONObject?, _ name: String) -> String {
            (object?[name]?.numberValue?.int64Value).map { ProgressLine.bytes(Int($0)) } ?? "?"
        }
        let map = stats["map"]?.objectValue
        Output.line("Root epoch:     \(number(stats, "epoch"))")
        Output.line("Tenants:        \(number(stats, "tenants"))")
        Output.line("Conversations:  \(number(stats, "conversations"))")
        Output.line("Messages:       \(number(stats, "messages")) (\(bytes(stats, "bytes")))")
        Output.line("Tokens:         \(number(stats, "tokens"))")
        Output.line("Audit records:  \(number(stats, "audit_records"))")
        Output.line("Map:            \(bytes(map, "used")) used of \(bytes(map, "size")) (file \(bytes(map, "file_bytes")), page \(number(map, "page_size")) B)")
        for node in stats["by_tenant"]?.arrayValue ?? [] {
            guard let tenant = node.value.objectValue else { continue }
            let versions = tenant["kek_versions"]?.arrayValue?.compactMap { $0.value.numberValue?.text }.joined(separator: ",") ?? "?"
            let byVersion = tenant["conversations_by_kek_version"]?.objectValue?.members
                .map { "v\($0.key): \($0.node.value.numberValue?.text ?? "?")" }.joined(separator: ", ") ?? ""
            Output.line("  \(tenant["name"]?.stringValue ?? "?")\t\(tenant["state"]?.stringValue ?? "?")\tepoch \(number(tenant, "epoch"))"
                + "\tKEK v\(number(tenant, "kek_version")) (versions \(versions))"
                + "\t\(number(tenant, "conversations")) conversations\t\(number(tenant, "messages")) messages\t\(bytes(tenant, "bytes"))"
                + (byVersion.isEmpty ? "" : "\tDEKs by KEK \(byVersion)"))
        }
    }
}
