import ArgumentParser

/// `tvault completions SHELL`: prints a shell completion script.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print a completion script for bash, zsh or fish.",
        discussion: """
            The same script as `tvault --generate-completion-script SHELL`.

            Example:
              tvault completions bash > /etc/bash_completion.d/tvault
              tvault completions zsh > "${fpath[1]}/_tvault"
              tvault completions fish > ~/.config/fish/completions/tvault.fish
            """
    )

    @Argument(help: "bash, zsh or fish.") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else { throw ValidationError("shells are bash, zsh and fish") }
    }

    func run() throws {
        guard let shell = CompletionShell(rawValue: shell) else { return }
        Output.line(TVault.completionScript(for: shell))
    }
}
