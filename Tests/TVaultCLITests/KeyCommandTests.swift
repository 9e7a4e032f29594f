import Foundation
import Testing
@testable import TranscriptVault

/// The key, shred, receipt, retention and tenant-shred commands, run as the real binary:
/// offline (the store opened in-process, where a shred's erasure epoch runs at once) and, for
/// `shred --wait`, through a running server's admin socket.
@Suite("tvault key, shred, receipt, retention and tenant shred")
struct KeyCommandTests {
    /// A store with tenant acme holding conversations c1 and c2 (3 messages each).
    static func withAcme<R>(_ body: (String) async throws -> R) async throws -> R {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            try await appendMessages(directory, tenant: "acme", conversations: ["c1", "c2"], count: 3)
            return try await body(directory)
        }
    }

    /// Whether reading `conversation` of `tenant` through the engine answers not found.
    static func isGone(_ directory: String, tenant: String, conversation: String) async throws -> Bool {
        try await withVault(directory) { vault in
            do {
                _ = try vault.read(tenant: tenant, conversationID: conversation)
                return false
            } catch VaultError.notFound {
                return true
            }
        }
    }

    /// The number of messages of a conversation, read through the engine.
    static func messageCount(_ directory: String, tenant: String, conversation: String) async throws -> Int {
        try await withVault(directory) { vault in try vault.read(tenant: tenant, conversationID: conversation).messages.count }
    }

    /// An RFC 3339 timestamp as the admin plane writes it (with or without milliseconds).
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    @Test("key rotate raises the tenant's KEK version; key rotate-root raises the epoch")
    func rotations() async throws {
        try await Self.withAcme { directory in
            let before = try tvaultOK(["tenant", "show", "acme", "--data-dir", directory, "--format", "json"]).json()
            let kekBefore = try #require(int(before, "kek_version"))
            let rotated = try tvaultOK(["key", "rotate", "--tenant", "acme", "--yes", "--data-dir", directory, "--format", "json"]).json()
            #expect(rotated["tenant"] as? String == "acme")
            #expect(try #require(int(rotated, "kek_version")) > kekBefore)
            #expect(int(rotated, "rewrapped") == 2)
            let after = try tvaultOK(["tenant", "show", "acme", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(after, "kek_version") == int(rotated, "kek_version"))

            let epochBefore = try #require(int(try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json(), "epoch"))
            let root = try tvaultOK(["key", "rotate-root", "--yes", "--data-dir", directory, "--format", "json"]).json()
            #expect(try #require(int(root, "epoch")) > epochBefore)
            #expect(int(try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json(), "epoch") == int(root, "epoch"))

            // Nothing was lost on the way.
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c1") == 3)
        }
    }

    @Test("shred offline erases at once; receipt show tells erased")
    func shredOffline() async throws {
        try await Self.withAcme { directory in
            let epochBefore = try #require(int(try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json(), "epoch"))
            let json = try tvaultOK(["shred", "--tenant", "acme", "--conversation", "c1", "--yes", "--data-dir", directory, "--format", "json"]).json()
            let receipt = try #require(json["receipt"] as? [String: Any], "no receipt in \(json)")
            #expect(receipt["status"] as? String == "erased")
            #expect(receipt["target"] as? String == "conversation")
            #expect(receipt["tenant"] as? String == "acme")
            #expect(int(json, "conversations") == 1)
            let id = try #require(receipt["id"] as? String)
            #expect(id.count == 32)
            #expect(try await Self.isGone(directory, tenant: "acme", conversation: "c1"))
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c2") == 3)
            #expect(try #require(int(try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json(), "epoch")) > epochBefore)

            let shown = try tvaultOK(["receipt", "show", id, "--data-dir", directory, "--format", "json"]).json()
            let shownReceipt = try #require(shown["receipt"] as? [String: Any])
            #expect(shownReceipt["id"] as? String == id)
            #expect(shownReceipt["status"] as? String == "erased")

            // Shredding it again: it is not there any more.
            let again = try tvault(["shred", "--tenant", "acme", "--conversation", "c1", "--yes", "--data-dir", directory])
            #expect(again.status != 0, "a second shred succeeded: \(again)")
        }
    }

    @Test("shred without --yes and without a terminal refuses, and deletes nothing")
    func shredNeedsConfirmation() async throws {
        try await Self.withAcme { directory in
            let run = try tvault(["shred", "--tenant", "acme", "--conversation", "c1", "--data-dir", directory])
            expectStatus(run, 1)
            #expect((run.stderr + run.stdout).contains("--yes"), "no mention of --yes: \(run)")
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c1") == 3)
        }
    }

    @Test("shred with neither --conversation nor --subject is a usage error")
    func shredNeedsTarget() async throws {
        try await Self.withAcme { directory in
            expectStatus(try tvault(["shred", "--tenant", "acme", "--yes", "--data-dir", directory]), 64)
            expectStatus(try tvault(["shred", "--tenant", "acme", "--conversation", "c1", "--subject", "s", "--yes", "--data-dir", directory]), 64)
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c1") == 3)
        }
    }

    @Test("retention set: JSON answer, tenant show reports it, 0 days is a usage error")
    func retention() async throws {
        try await Self.withAcme { directory in
            let run = try tvaultOK(["retention", "set", "--tenant", "acme", "--days", "30", "--data-dir", directory, "--format", "json"])
            #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"tenant":"acme","days":30}"#)
            let json = try run.json()
            #expect(json["tenant"] as? String == "acme")
            #expect(int(json, "days") == 30)
            let shown = try tvaultOK(["tenant", "show", "acme", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(shown, "retention_days") == 30)

            expectStatus(try tvault(["retention", "set", "--tenant", "acme", "--days", "0", "--data-dir", directory]), 64)
            let unchanged = try tvaultOK(["tenant", "show", "acme", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(unchanged, "retention_days") == 30)
        }
    }

    @Test("tenant shred schedules it in the future; cancel-shred makes it active again")
    func tenantShredAndCancel() async throws {
        try await Self.withAcme { directory in
            let start = Date()
            let json = try tvaultOK(["tenant", "shred", "acme", "--yes", "--data-dir", directory, "--format", "json"]).json()
            #expect(json["tenant"] as? String == "acme")
            #expect(json["receipt"] is NSNull)
            let shredAt = try #require(Self.date(json["shred_at"] as? String), "shred_at unreadable in \(json)")
            #expect(shredAt > start.addingTimeInterval(24 * 3600), "shred_at \(shredAt) is not days ahead")

            let listed = try tvaultOK(["tenant", "list", "--data-dir", directory, "--format", "json"]).json()
            let tenants = try #require(listed["tenants"] as? [[String: Any]])
            #expect(tenants.first { $0["name"] as? String == "acme" }?["state"] as? String == "shred_scheduled")
            #expect(try tvaultOK(["tenant", "list", "--data-dir", directory]).stdout.contains("shred_scheduled"))

            let cancelled = try tvaultOK(["tenant", "cancel-shred", "acme", "--data-dir", directory, "--format", "json"]).json()
            #expect(cancelled["state"] as? String == "active")
            let shown = try tvaultOK(["tenant", "show", "acme", "--data-dir", directory, "--format", "json"]).json()
            #expect(shown["state"] as? String == "active")
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c1") == 3)
        }
    }

    @Test("shred --wait through a running server answers erased")
    func shredWaitOnline() async throws {
        try await Self.withAcme { directory in
            try await withServer(directory) { _ in
                let json = try tvaultOK(["shred", "--tenant", "acme", "--conversation", "c1", "--wait", "--yes", "--data-dir", directory, "--format", "json"]).json()
                let receipt = try #require(json["receipt"] as? [String: Any], "no receipt in \(json)")
                #expect(receipt["status"] as? String == "erased")
                #expect(int(json, "conversations") == 1)
                let id = try #require(receipt["id"] as? String)
                let shown = try tvaultOK(["receipt", "show", id, "--data-dir", directory, "--format", "json"]).json()
                #expect((shown["receipt"] as? [String: Any])?["status"] as? String == "erased")
            }
            #expect(try await Self.isGone(directory, tenant: "acme", conversation: "c1"))
            #expect(try await Self.messageCount(directory, tenant: "acme", conversation: "c2") == 3)
        }
    }
}
