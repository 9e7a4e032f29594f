import ArgumentParser

/// `tvault`: the one binary of TranscriptVault, the server and every admin command.
@main
struct TVault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tvault",
        abstract: "An encrypted transcript store with per-conversation keys and crypto-shredding.",
        discussion: """
            Every command takes --data-dir (default: $TVAULT_DATA_DIR, else ./.tvault) and
            --format text|json. Exit status: 0 success, 1 failure, 2 the store cannot be
            unlocked, 64 usage error.

            Get started:
              tvault serve                      # create ./.tvault on first run, then serve
              tvault tenant create acme         # works while the server runs, or offline
              tvault token issue --tenant acme --scopes append,read,list
            """,
        version: TVaultVersion.current,
        subcommands: [ServeCommand.self, InitCommand.self, TenantCommand.self, TokenCommand.self, KeyCommand.self, ShredCommand.self, ReceiptCommand.self, RetentionCommand.self,
                      StatusCommand.self, StatsCommand.self, VerifyCommand.self, BackupCommand.self, CompactCommand.self,
                      AuditCommand.self, CompletionsCommand.self]
    )
}

/// The version of the binary and of the socket protocol.
enum TVaultVersion {
    static let current = "0.1.0"
}
