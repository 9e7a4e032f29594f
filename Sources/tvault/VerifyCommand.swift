import ArgumentParser
import TranscriptAPI
import TranscriptServer
import TranscriptVault

/// `tvault verify`: opens every record of every tenant.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Open every key, conversation and message of every tenant; report failures.",
        discussion: """
            Every tenant's KEK versions and index key, every conversation's DEK and
            metadata, and every message are opened; messages without a conversation and
            message counts that disagree are failures too. Failures name the tenant, the
            kind of record and its position (the conversation's keyed hash, the sequence
            number), never content. Exit status 1 when any record fails. Works while the
            server runs (through admin.sock) and offline; shows progress on a terminal.

            Example:
              tvault verify --format json
              # {"records":12,"failures":0,"tenants":1,"skipped":0,"counts":{"kek":1,
              #  "index_key":1,"conversation":2,
              #  "dek":2,"metadata":2,"message":4},"details":[],"details_truncated":false}
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let progress = ProgressLine()
            let result: (object: JSONObject, bytes: [UInt8])
            if DataDirectory(path: options.dataDirectory).isOwnedByAnotherProcess {
                result = try await progress.ticking({ "Verifying through the server… \(Int($0)) s" }) {
                    try await AdminCall.run("verify", params: Array("{}".utf8), options: options)
                }
            } else {
                let vault = try options.openVault()
                defer { vault.close() }
                let report: VerifyReport
                do {
                    report = try vault.verify { step in
                        progress.update("Verifying… \(step.done) of \(step.total) conversations and messages")
                    }
                } catch let error as VaultError {
                    progress.finish()
                    throw CLIError(error)
                }
                progress.finish()
                let bytes = AdminDispatcher.encode(report)
                result = (try AdminCall.parse(bytes), bytes)
            }
            let failures = result.object["failures"]?.numberValue?.int64Value ?? -1
            switch options.format {
            case .json:
                Output.raw(result.bytes)
            case .text:
                Self.printText(result.object)
            }
            if failures != 0 { throw CLIError.failure("\(failures) record(s) failed verification") }
        }
    }

    static func printText(_ report: JSONObject) {
        let counts = report["counts"]?.objectValue
        func count(_ name: String) -> String { counts?[name]?.numberValue?.text ?? "0" }
        Output.line("Verified \(report["records"]?.numberValue?.text ?? "?") records of \(report["tenants"]?.numberValue?.text ?? "?") tenant(s): "
            + "\(count("kek")) KEKs, \(count("index_key")) index keys, \(count("conversation")) conversations "
            + "(\(count("dek")) DEKs, \(count("metadata")) metadata), \(count("message")) messages.")
        for node in report["details"]?.arrayValue ?? [] {
            guard let failure = node.value.objectValue else { continue }
            Output.line("FAILED  \(failure["tenant"]?.stringValue ?? "(no tenant)")\t\(failure["kind"]?.stringValue ?? "?")"
                + "\t\(failure["position"]?.stringValue ?? "?")\t\(failure["check"]?.stringValue ?? "?")")
        }
        if report["details_truncated"]?.boolValue == true { Output.line("(more failures not listed)") }
        let failures = report["failures"]?.numberValue?.text ?? "?"
        Output.line(failures == "0" ? "No failures." : "\(failures) failure(s).")
    }
}
