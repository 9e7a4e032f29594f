import ArgumentParser
import Foundation
import TranscriptAPI
import TranscriptServer
import TranscriptVault

/// `tvault audit`: the hash-chained audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show, check and export the audit log.",
        discussion: """
            Every admin action, refused authentication, backup and export is recorded in
            the same transaction as the action (a backup or an export, which write nothing
            else, in a transaction of its own just before they start). Records carry
            identifiers only as keyed hashes, never content or keys, and form a chain
            under a keyed MAC.
            """,
        subcommands: [Tail.self, Verify.self, Export.self]
    )

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the last records of the audit log.",
            discussion: """
                Example:
                  tvault audit tail -n 5 --format json
                  # {"records":[{"seq":3,"time":"2024-06-01T10:00:00.000Z",
                  #  "action":"token.issue",
                  #  "fields":{"token":"3f9a0c1b2d4e","tenants":"…",
                  #   "scopes":"append,read"}}]}
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(name: [.customShort("n"), .customLong("count")], help: "How many records (1 to 10000).")
        var count: Int = 20

        func validate() throws {
            guard (1...10_000).contains(count) else { throw ValidationError("-n must be between 1 and 10000") }
        }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("count", count) }
                let result = try await AdminCall.run("audit.tail", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    let records = result.object["records"]?.arrayValue ?? []
                    if records.isEmpty { Output.line("The audit log is empty.") }
                    for node in records {
                        guard let record = node.value.objectValue else { continue }
                        Output.line(AuditCommand.describe(record))
                    }
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit log's chain; exit 1 at the first broken record.",
            discussion: """
                Detects an edited, removed, reordered or truncated record and names the first
                one broken.

                Example:
                  tvault audit verify --format json
                  # {"records":7,"intact":true,"first_broken":null,"problem":null}
                """
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let result = try await AdminCall.run("audit.verify", params: Array("{}".utf8), options: options)
                let intact = result.object["intact"]?.boolValue == true
                let records = result.object["records"]?.numberValue?.text ?? "?"
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    if intact {
                        Output.line("The audit log is intact: \(records) records.")
                    } else {
                        let at = result.object["first_broken"]?.numberValue.map { " at record \($0.text)" } ?? ""
                        Output.line("The audit log is broken\(at): \(result.object["problem"]?.stringValue ?? "?") (\(records) records read).")
                    }
                }
                if !intact { throw CLIError.failure("the audit log failed verification") }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the audit log as JSON lines, one record per line.",
            discussion: """
                Each line is {"seq","time","action","fields"}; time is RFC 3339 UTC. Without
                --output the lines go to standard output whatever --format says; with it, they
                go to FILE (mode 0600) and a summary is printed. The export is recorded in the
                log (as action audit.export) before it is read, so it holds its own record.

                Example:
                  tvault audit export --output audit.jsonl --format json
                  # {"output":"audit.jsonl","records":8}
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Write the lines to this file instead of standard output.", valueName: "file"))
        var output: String?

        func run() async throws {
            try await runReportingErrors {
                let sink: FileHandle
                if let output {
                    let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                    guard fd >= 0 else {
                        throw CLIError.failure("cannot create \(output) (\(String(cString: strerror(errno))))")
                    }
                    // An existing file keeps its mode through open: narrowed too.
                    fchmod(fd, 0o600)
                    sink = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                } else {
                    sink = FileHandle.standardOutput
                }
                var written = 0
                try await AuditCommand.withSession(options) { call in
                    var after: String?
                    repeat {
                        var params = JSONWriter()
                        params.object { w in
                            if let after { w.key("after"); w.appendRaw(Array(after.utf8)) }
                            w.member("limit", 1000)
                        }
                        let page = try await call("audit.export", params.bytes)
                        var lines: [UInt8] = []
                        for node in page.object["records"]?.arrayValue ?? [] {
                            lines += node.bytes(in: page.bytes)
                            lines.append(UInt8(ascii: "\n"))
                            written += 1
                        }
                        sink.write(Data(lines))
                        after = page.object["next_after"]?.numberValue?.text
                    } while after != nil
                }
                guard let output else { return }
                try sink.synchronize()
                try sink.close()
                switch options.format {
                case .json:
                    var out = JSONWriter()
                    out.object { w in
                        w.member("output", output)
                        w.member("records", written)
                    }
                    Output.raw(out.bytes)
                case .text:
                    Output.line("Exported \(written) audit records to \(output)")
                }
            }
        }
    }

    /// Runs `body` with a way to call admin methods: through `admin.sock` when a server owns
    /// the data directory, else on one store opened for all the calls (so that a passphrase
    /// is stretched once, not once per page).
    static func withSession(
        _ options: GlobalOptions,
        _ body: (_ call: (String, [UInt8]) async throws -> (object: JSONObject, bytes: [UInt8])) async throws -> Void
    ) async throws {
        if DataDirectory(path: options.dataDirectory).isOwnedByAnotherProcess {
            try await body { method, params in try await AdminCall.run(method, params: params, options: options) }
            return
        }
        let vault = try options.openVault()
        defer { vault.close() }
        let dispatcher = AdminDispatcher(vault: vault, inProcess: true)
        try await body { method, params in
            let bytes: [UInt8]
            do {
                bytes = try await dispatcher.run(method: method, params: try AdminCall.parse(params))
            } catch let error as RPCError {
                throw CLIError.failure(error.message)
            } catch let error as VaultError {
                throw CLIError(error)
            }
            return (try AdminCall.parse(bytes), bytes)
        }
    }

    /// One record as a line of text: number, time, action, then the fields as name=value.
    static func describe(_ record: JSONObject) -> String {
        let seq = record["seq"]?.numberValue?.text ?? "?"
        let fields = record["fields"]?.objectValue?.members
            .map { "\($0.key)=\($0.node.value.stringValue ?? "?")" }.joined(separator: " ") ?? ""
        let padded = String(repeating: " ", count: max(0, 6 - seq.count)) + seq
        return "\(padded)  \(record["time"]?.stringValue ?? "?")  \(record["action"]?.stringValue ?? "?")  \(fields)"
    }
}
