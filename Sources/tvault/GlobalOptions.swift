import ArgumentParser
import Foundation
import TranscriptCrypto
import TranscriptVault

/// The options every command shares: where the store is, how to unlock it, how to print.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "The data directory (default: $TVAULT_DATA_DIR, else ./.tvault).", valueName: "path"))
    var dataDir: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(name: .customLong("admin-socket"), help: ArgumentHelp(
        "The server's admin socket (default: $TVAULT_ADMIN_SOCKET, else <data-dir>/admin.sock): where serve listens for the CLI, and where the other commands reach a running server.",
        valueName: "path"))
    var adminSocket: String?

    @Option(name: .customLong("unlock-key"), help: ArgumentHelp(
        "The unlock key file (default: <data-dir>/unlock.key); given, it beats $TVAULT_PASSPHRASE.", valueName: "path"))
    var unlockKey: String?

    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp(
        "Unlock with the passphrase in this file instead of a key file ($TVAULT_PASSPHRASE also works; a passphrase is never taken as an argument, and may not be empty).",
        valueName: "path"))
    var passphraseFile: String?

    /// The resolved data directory.
    var dataDirectory: String {
        if let dataDir { return dataDir }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TVAULT_DATA_DIR"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "./.tvault"
    }

    /// The resolved admin socket: the option, else `TVAULT_ADMIN_SOCKET`, else the data
    /// directory's `admin.sock`.
    var adminSocketPath: String {
        if let adminSocket { return adminSocket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TVAULT_ADMIN_SOCKET"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return DataDirectory(path: dataDirectory).adminSocket
    }

    /// The unlock secret: a passphrase from a file, else the key file named by `--unlock-key`,
    /// else a passphrase from the environment, else, for a store unlocked with a passphrase, one
    /// typed at a terminal prompt, else the default key file. An option given on the command line
    /// beats the environment; both options at once are a usage error, and so is an empty
    /// passphrase (an unset variable in a script would otherwise make one).
    func unlockSecret() throws -> UnlockSecret {
        if let passphraseFile {
            guard unlockKey == nil else {
                throw CLIError(description: "give --unlock-key or --passphrase-file, not both", exitCode: 64)
            }
            guard var bytes = FileManager.default.contents(atPath: passphraseFile).map({ Array($0) }) else {
                // A missing unlock secret, like a missing key file: the store cannot be unlocked.
                throw CLIError(description: "cannot read the passphrase file \(passphraseFile)", exitCode: 2)
            }
            defer { bytes.zeroize() }
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard !bytes.isEmpty else { throw CLIError(description: "the passphrase file \(passphraseFile) is empty", exitCode: 64) }
            return .passphrase(try SecretBytes(copying: bytes))
        }
        if let unlockKey { return .keyFile(unlockKey) }
        if var fromEnvironment = ProcessInfo.processInfo.environment["TVAULT_PASSPHRASE"].map({ Array($0.utf8) }) {
            defer { fromEnvironment.zeroize() }
            guard !fromEnvironment.isEmpty else { throw CLIError(description: "TVAULT_PASSPHRASE is set but empty", exitCode: 64) }
            return .passphrase(try SecretBytes(copying: fromEnvironment))
        }
        // A store unlocked with a passphrase, none given, and a terminal to ask on: ask.
        if Vault.keyringUsesPassphrase(DataDirectory(path: dataDirectory)),
           let passphrase = try PassphrasePrompt.ask("Passphrase for \(dataDirectory): ") {
            return .passphrase(passphrase)
        }
        return .keyFile(DataDirectory(path: dataDirectory).unlockKey)
    }

    /// The engine configuration for this invocation.
    func vaultConfiguration() throws -> Vault.Configuration {
        Vault.Configuration(dataDirectory: dataDirectory, unlock: try unlockSecret())
    }

    /// Opens the store, mapping failures to the CLI's exit statuses.
    func openVault() throws -> Vault {
        do {
            return try Vault.open(try vaultConfiguration())
        } catch let error as VaultError {
            throw CLIError(error)
        }
    }
}

/// How results are printed.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}
