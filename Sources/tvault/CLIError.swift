import ArgumentParser
import Foundation
import TranscriptVault

/// A failure reported to the user: a message on stderr and an exit status.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    static func failure(_ message: String) -> CLIError { CLIError(description: message, exitCode: 1) }

    init(description: String, exitCode: Int32) {
        self.description = description
        self.exitCode = exitCode
    }

    init(_ error: VaultError) {
        description = error.description
        exitCode = error.isUnlockFailure ? 2 : 1
    }
}

/// Runs a command body, printing any failure as `tvault: <message>` with its exit status.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("tvault: \(error.description)\n".utf8))
        throw ExitCode(error.exitCode)
    } catch let error as VaultError {
        let cli = CLIError(error)
        FileHandle.standardError.write(Data("tvault: \(cli.description)\n".utf8))
        throw ExitCode(cli.exitCode)
    }
}
