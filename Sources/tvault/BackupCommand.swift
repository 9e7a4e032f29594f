import ArgumentParser
import Foundation
import TranscriptAPI
import TranscriptVault

/// `tvault backup DEST`: a consistent, compacted copy of the store, taken while it serves.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent, compacted copy of the store to DEST/store, even while the server runs.",
        discussion: """
            The copy (LMDB's compacting copy, in one read snapshot) holds the store only,
            never the keyring or the unlock secret: keep those separately. It opens only
            with a keyring that still holds the root epoch it was taken under, so a root
            rotation or an erasure epoch (after a shred) makes older backups unreadable.
            The backup is recorded in the audit log. Shows progress on a terminal.

            Example:
              tvault backup /srv/backups/tvault-2024-06-01 --format json
              # {"destination":"/srv/backups/tvault-2024-06-01",
              #  "store":"/srv/backups/tvault-2024-06-01/store",
              #  "bytes":131072,"epoch":1,"audit_seq":8}
            """
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The backup directory (created when missing; its store/ must not hold a store).", valueName: "dest"))
    var destination: String

    func validate() throws {
        guard !destination.isEmpty else { throw ValidationError("name a backup directory") }
    }

    func run() async throws {
        try await runReportingErrors {
            // The server resolves paths from its own working directory: send an absolute one.
            let absolute = URL(fileURLWithPath: destination, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                .standardizedFileURL.path
            var params = JSONWriter()
            params.object { $0.member("destination", absolute) }
            let source = DataDirectory(path: options.dataDirectory).store + "/data.mdb"
            let copy = absolute + "/store/data.mdb"
            let limit = ProgressLine.fileSize(source)
            let result = try await ProgressLine().ticking({ _ in
                "Backing up… \(ProgressLine.bytes(ProgressLine.fileSize(copy))) copied (of at most \(ProgressLine.bytes(limit)))"
            }) {
                try await AdminCall.run("backup", params: params.bytes, options: options)
            }
            switch options.format {
            case .json:
                Output.raw(result.bytes)
            case .text:
                let store = result.object["store"]?.stringValue ?? absolute + "/store"
                let epoch = result.object["epoch"]?.numberValue?.text ?? "?"
                let size = (result.object["bytes"]?.numberValue?.int64Value).map { ProgressLine.bytes(Int($0)) } ?? "?"
                Output.line("Backup written to \(store) (\(size), root epoch \(epoch), audit record \(result.object["audit_seq"]?.numberValue?.text ?? "?")).")
                Output.line("")
                Output.line(Self.restoreInstructions(store: store, epoch: epoch))
            }
        }
    }

    static func restoreInstructions(store: String, epoch: String) -> String {
        """
        To restore it:
          1. Stop the server; choose an empty data directory, e.g. /var/lib/tvault (mode 0700).
          2. Copy the backup into it:   cp -a \(store) /var/lib/tvault/store
          3. Put the keyring there:     cp <your keyring> /var/lib/tvault/keyring
             Backups never contain the keyring or the unlock secret; keep them separately.
          4. Unlock with the same unlock secret as the keyring: --unlock-key FILE,
             --passphrase-file FILE or $TVAULT_PASSPHRASE.
          5. Check it:                  tvault verify --data-dir /var/lib/tvault
        The backup opens only with a keyring that still holds root epoch \(epoch). A root
        rotation, or the erasure epoch that finishes a shred, destroys that root: from then on
        this backup cannot be read (by design: shredded data must not come back).
        """
    }
}
