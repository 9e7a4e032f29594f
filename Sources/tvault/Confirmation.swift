import Foundation

/// Asks before destroying data, unless `--yes` was given.
enum Confirmation {
    /// Returns when the user confirmed; throws when they did not or cannot be asked.
    static func require(_ question: String, yes: Bool) throws {
        if yes { return }
        guard isatty(0) == 1 else {
            throw CLIError.failure("\(question) Refusing without a terminal to ask on: pass --yes to confirm.")
        }
        FileHandle.standardError.write(Data("\(question) Type yes to continue: ".utf8))
        guard let answer = readLine(), answer.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
            throw CLIError.failure("cancelled")
        }
    }
}
