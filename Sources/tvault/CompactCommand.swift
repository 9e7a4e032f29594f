import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault compact`: offline compaction of the store file.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite store/data.mdb without free pages (offline: the server must be stopped).",
        discussion: """
            A compacted copy is written to <data-dir>/store.compacting, flushed to disk,
            checked, and renamed over store/data.mdb in one atomic step. Refuses to run
            while a server owns the data directory (tvault backup makes a compacted copy
            while it runs). Nothing is decrypted, so no unlock secret is needed. Shows
            progress on a terminal.

            Example:
              tvault compact --data-dir /var/lib/tvault --format json
              # {"data_dir":"/var/lib/tvault","before_bytes":1048576,"after_bytes":262144}
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let directory = DataDirectory(path: options.dataDirectory)
            let refusal = "a server owns \(directory.path): stop it first (compact works offline only; tvault backup makes a compacted copy while the server runs)"
            guard !directory.isOwnedByAnotherProcess else { throw CLIError.failure(refusal) }
            let copy = directory.compactionStore + "/data.mdb"
            let limit = ProgressLine.fileSize(directory.store + "/data.mdb")
            let result: CompactionResult
            do {
                result = try await ProgressLine().ticking({ _ in
                    "Compacting… \(ProgressLine.bytes(ProgressLine.fileSize(copy))) written (of at most \(ProgressLine.bytes(limit)))"
                }) {
                    try Vault.compact(directory)
                }
            } catch VaultError.storeLocked {
                throw CLIError.failure(refusal)
            }
            switch options.format {
            case .json:
                var out = JSONWriter()
                out.object { w in
                    w.member("data_dir", directory.path)
                    w.member("before_bytes", result.beforeBytes)
                    w.member("after_bytes", result.afterBytes)
                }
                Output.raw(out.bytes)
            case .text:
                Output.line("Compacted \(directory.store)/data.mdb: \(ProgressLine.bytes(result.beforeBytes)) → \(ProgressLine.bytes(result.afterBytes))")
            }
        }
    }
}
