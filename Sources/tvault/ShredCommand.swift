import ArgumentParser
import TranscriptAPI
import TranscriptVault

/// `tvault shred`: crypto-shredding of a conversation or a subject's conversations.
struct ShredCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shred",
        abstract: "Delete a conversation, or every conversation of a subject, and destroy its keys.",
        discussion: """
            The data is unreadable at once. The erasure epoch that destroys every key that
            wrapped it follows within the server's --erasure-delay, or at once with --wait
            (and always at once when no server runs). The receipt moves from pending to
            erased.

            Example:
              tvault shred --tenant acme --conversation c-1 --yes
              tvault shred --tenant acme --subject user-7 --yes --wait --format json
            """
    )

    @OptionGroup var options: GlobalOptions
    @Option(help: "The tenant.") var tenant: String
    @Option(help: "The conversation id.") var conversation: String?
    @Option(help: "The subject id: every conversation of it.") var subject: String?
    @Flag(help: "Run the erasure epoch now and wait for it.") var wait = false
    @Flag(help: "Do not ask for confirmation.") var yes = false

    func validate() throws {
        guard TenantName.isValid(tenant) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
        guard (conversation == nil) != (subject == nil) else { throw ValidationError("give exactly one of --conversation and --subject") }
    }

    func run() async throws {
        try await runReportingErrors {
            let what = conversation.map { "conversation \($0)" } ?? "every conversation of subject \(subject ?? "")"
            try Confirmation.require("Shred \(what) of tenant \(tenant)? This cannot be undone.", yes: yes)
            var params = JSONWriter()
            params.object { w in
                w.member("tenant", tenant)
                if let conversation { w.member("conversation", conversation) }
                if let subject { w.member("subject", subject) }
                w.member("wait", wait)
            }
            let result = try await AdminCall.run("shred", params: params.bytes, options: options)
            switch options.format {
            case .json: Output.raw(result.bytes)
            case .text:
                let receipt = result.object["receipt"]?.objectValue
                Output.line("Shredded \(result.object["conversations"]?.numberValue?.text ?? "?") conversation(s).")
                Output.line("Receipt \(receipt?["id"]?.stringValue ?? "?"): \(receipt?["status"]?.stringValue ?? "?")")
            }
        }
    }
}

/// `tvault receipt show ID`.
struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Show shred receipts.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a receipt and whether its keys are destroyed yet (pending or erased).",
            discussion: """
                Example:
                  tvault receipt show 5f0c…e1 --format json
                """
        )

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The receipt id.") var id: String

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { $0.member("id", id) }
                let result = try await AdminCall.run("receipt.show", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text:
                    let receipt = result.object["receipt"]?.objectValue
                    Output.line("\(id)\t\(receipt?["status"]?.stringValue ?? "?")\t\(receipt?["target"]?.stringValue ?? "?")\ttenant \(receipt?["tenant"]?.stringValue ?? "?")")
                }
            }
        }
    }
}

/// `tvault retention set`.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Set how long conversations are kept.",
        subcommands: [Set.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a tenant's default retention, or one conversation's override.",
            discussion: """
                Conversations not updated for that many days are shredded by the server's
                sweeper exactly like a delete. --none removes the limit (or the override).

                Example:
                  tvault retention set --tenant acme --days 30
                  tvault retention set --tenant acme --conversation c-1 --days 365
                """
        )

        @OptionGroup var options: GlobalOptions
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "Days to keep a conversation after its last update.") var days: Int?
        @Flag(help: "No limit (or, with --conversation, follow the tenant's default).") var none = false
        @Option(help: "Only this conversation.") var conversation: String?

        func validate() throws {
            guard TenantName.isValid(tenant) else { throw ValidationError("tenant names match [a-z0-9][a-z0-9-]{0,62}") }
            guard (days == nil) != !none else { throw ValidationError("give exactly one of --days and --none") }
            if let days, !(1...36_500).contains(days) { throw ValidationError("--days must be 1...36500") }
        }

        func run() async throws {
            try await runReportingErrors {
                var params = JSONWriter()
                params.object { w in
                    w.member("tenant", tenant)
                    w.key("days")
                    if let days { w.number(days) } else { w.null() }
                    if let conversation { w.member("conversation", conversation) }
                }
                let result = try await AdminCall.run("retention.set", params: params.bytes, options: options)
                switch options.format {
                case .json: Output.raw(result.bytes)
                case .text: Output.line("Retention for \(conversation.map { "conversation \($0) of " } ?? "")\(tenant): \(days.map { "\($0) days" } ?? "none")")
                }
            }
        }
    }
}
