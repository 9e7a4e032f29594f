import ArgumentParser
import TranscriptVault

/// `tvault init`: creates a store.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new store in the data directory.",
        discussion: """
            Creates <data-dir>/store (LMDB) and <data-dir>/keyring. Without
            --passphrase-file or $TVAULT_PASSPHRASE, a new unlock key file is generated at
            <data-dir>/unlock.key (mode 0400) or at --unlock-key. Keep the unlock secret
            apart from backups.

            Example:
              tvault init --data-dir /var/lib/tvault --unlock-key /etc/tvault/unlock.key
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.vaultConfiguration()
            let vault: Vault
            do {
                vault = try Vault.initialize(configuration)
            } catch let error as VaultError {
                throw CLIError(error)
            }
            vault.close()
            let unlock: String
            switch configuration.unlock {
            case .keyFile(let path): unlock = path
            case .passphrase: unlock = "passphrase"
            }
            switch options.format {
            case .json:
                Output.json(["data_dir": configuration.dataDirectory.path, "unlock": unlock])
            case .text:
                Output.line("Initialised a store in \(configuration.dataDirectory.path)")
                Output.line("Unlock secret: \(unlock)")
            }
        }
    }
}
