import Foundation
import Testing
@testable import TranscriptVault

/// Every admin-plane command, run as the real binary on a store no server owns, in text and
/// in JSON: the documented fields are there, the exit statuses are the documented ones.
@Suite("tvault commands, offline")
struct CommandTests {
    /// A store with tenants acme (2 conversations of 3 messages) and beta (none), and a token.
    static func withFilledStore<R>(_ body: (String) async throws -> R) async throws -> R {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            try tvaultOK(["tenant", "create", "beta", "--data-dir", directory])
            try tvaultOK(["token", "issue", "--tenant", "acme", "--data-dir", directory])
            try await appendMessages(directory, tenant: "acme", conversations: ["c1", "c2"], count: 3)
            return try await body(directory)
        }
    }

    @Test("status: text and JSON")
    func status() async throws {
        try await Self.withFilledStore { directory in
            let json = try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json()
            #expect(json["initialized"] as? Bool == true)
            #expect(json["server_running"] as? Bool == false)
            #expect(json["data_dir"] as? String == directory)
            #expect(json["socket"] as? String == directory + "/tvault.sock")
            #expect(json["admin_socket"] as? String == directory + "/admin.sock")
            #expect(json["version"] as? String == "0.1.0")
            #expect(int(json, "tenants") == 2)
            #expect(int(json, "epoch") == 1)
            #expect(int(json, "audit_records") == 3)
            let text = try tvaultOK(["status", "--data-dir", directory]).stdout
            #expect(text.contains("Server:         not running"))
            #expect(text.contains("Tenants:        2"))
            #expect(text.contains("Audit records:  3"))
        }
    }

    @Test("status without a store answers initialized: false and exits 1")
    func statusWithoutStore() throws {
        let directory = shortTemporaryPath()
        let run = try tvault(["status", "--data-dir", directory, "--format", "json"])
        expectStatus(run, 1)
        let json = try run.json()
        #expect(json["initialized"] as? Bool == false)
        #expect(json["server_running"] as? Bool == false)
        #expect(json["tenants"] is NSNull)
        #expect(!FileManager.default.fileExists(atPath: directory), "status must not create the data directory")
    }

    @Test("stats: counts from records, per tenant, without content")
    func stats() async throws {
        try await Self.withFilledStore { directory in
            let run = try tvaultOK(["stats", "--data-dir", directory, "--format", "json"])
            let json = try run.json()
            #expect(int(json, "epoch") == 1)
            #expect(int(json, "tenants") == 2)
            #expect(int(json, "conversations") == 2)
            #expect(int(json, "messages") == 6)
            let expectedBytes = ["c1", "c2"].flatMap { c in (1...3).map { sampleMessage(c, $0).count } }.reduce(0, +)
            #expect(int(json, "bytes") == expectedBytes)
            #expect(int(json, "tokens") == 1)
            #expect(int(json, "audit_records") == 3)
            #expect((int(json, "map.size") ?? 0) >= (int(json, "map.used") ?? .max))
            #expect((int(json, "map.used") ?? 0) > 0)
            #expect(int(json, "map.page_size") == 4096 || (int(json, "map.page_size") ?? 0) > 0)
            #expect((int(json, "map.file_bytes") ?? 0) > 0)
            let tenants = try #require(json["by_tenant"] as? [[String: Any]])
            #expect(tenants.map { $0["name"] as? String } == ["acme", "beta"])
            #expect(int(tenants[0], "conversations") == 2)
            #expect(int(tenants[0], "messages") == 6)
            #expect(int(tenants[0], "kek_version") == 1)
            #expect(tenants[0]["kek_versions"] as? [Int] == [1])
            #expect(int(tenants[0], "conversations_by_kek_version.1") == 2)
            #expect(tenants[1]["state"] as? String == "active")
            #expect(!run.stdout.contains("message 1 of"), "stats printed content")

            let text = try tvaultOK(["stats", "--data-dir", directory]).stdout
            #expect(text.contains("Conversations:  2"))
            #expect(text.contains("Messages:       6"))
            #expect(text.contains("acme"))
        }
    }

    @Test("verify: every record opens; counts by kind; exit 0")
    func verify() async throws {
        try await Self.withFilledStore { directory in
            let run = try tvaultOK(["verify", "--data-dir", directory, "--format", "json"])
            let json = try run.json()
            // 2 KEKs + 2 index keys + 2 × (conversation, DEK, metadata) + 6 messages.
            #expect(int(json, "records") == 16)
            #expect(int(json, "failures") == 0)
            #expect(int(json, "tenants") == 2)
            #expect(int(json, "counts.kek") == 2)
            #expect(int(json, "counts.index_key") == 2)
            #expect(int(json, "counts.conversation") == 2)
            #expect(int(json, "counts.dek") == 2)
            #expect(int(json, "counts.metadata") == 2)
            #expect(int(json, "counts.message") == 6)
            #expect((json["details"] as? [Any])?.isEmpty == true)
            #expect(run.stderr.isEmpty, "progress must stay quiet in a pipe: \(run.stderr)")

            let text = try tvaultOK(["verify", "--data-dir", directory]).stdout
            #expect(text.contains("Verified 16 records of 2 tenant(s)"))
            #expect(text.contains("No failures."))
        }
    }

    @Test("audit tail, verify and export: text and JSON")
    func audit() async throws {
        try await Self.withFilledStore { directory in
            let tail = try tvaultOK(["audit", "tail", "-n", "2", "--data-dir", directory, "--format", "json"]).json()
            let records = try #require(tail["records"] as? [[String: Any]])
            #expect(records.map { int($0, "seq") } == [2, 3])
            #expect(records.map { $0["action"] as? String } == ["tenant.create", "token.issue"])
            let time = try #require(records[0]["time"] as? String)
            #expect(time.hasSuffix("Z") && time.contains("T"), "not RFC 3339: \(time)")
            #expect((records[0]["fields"] as? [String: String])?["tenant"]?.count == 32, "tenant names appear only as keyed hashes")
            let tailText = try tvaultOK(["audit", "tail", "--data-dir", directory]).stdout
            #expect(tailText.contains("tenant.create") && tailText.contains("token.issue"))
            #expect(!tailText.contains("acme"), "the audit log holds tenant names only as keyed hashes")

            let verified = try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(verified, "records") == 3)
            #expect(verified["intact"] as? Bool == true)
            #expect(verified["first_broken"] is NSNull)
            #expect(verified["problem"] is NSNull)
            #expect(try tvaultOK(["audit", "verify", "--data-dir", directory]).stdout.contains("intact: 3 records"))

            // To standard output: one JSON object per line, the export's own record last.
            let lines = try tvaultOK(["audit", "export", "--data-dir", directory]).stdout.split(separator: "\n")
            #expect(lines.count == 4)
            let exported = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(exported.map { int($0, "seq") } == [1, 2, 3, 4])
            #expect(exported.last?["action"] as? String == "audit.export")
            for record in exported { #expect(Set(record.keys) == ["seq", "time", "action", "fields"]) }

            // To a file: a summary on standard output, the lines in the file (mode 0600).
            let file = directory + "/../" + URL(fileURLWithPath: directory).lastPathComponent + ".jsonl"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let summary = try tvaultOK(["audit", "export", "--output", file, "--data-dir", directory, "--format", "json"]).json()
            #expect(int(summary, "records") == 5)
            let written = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            #expect(written.count == 5)
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try tvaultOK(["audit", "export", "--output", file, "--data-dir", directory]).stdout.contains("Exported 6 audit records"))
            #expect(try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()["intact"] as? Bool == true)
        }
    }

    @Test("backup: a compacted copy in DEST/store, restore instructions, an audit record")
    func backup() async throws {
        try await Self.withFilledStore { directory in
            let destination = shortTemporaryPath()
            defer { try? FileManager.default.removeItem(atPath: destination) }
            let run = try tvaultOK(["backup", destination, "--data-dir", directory, "--format", "json"])
            let json = try run.json()
            #expect(json["destination"] as? String == destination)
            #expect(json["store"] as? String == destination + "/store")
            #expect(int(json, "epoch") == 1)
            #expect(int(json, "audit_seq") == 4)
            let size = try FileManager.default.attributesOfItem(atPath: destination + "/store/data.mdb")[.size] as? Int
            #expect(int(json, "bytes") == size)
            #expect(!FileManager.default.fileExists(atPath: destination + "/keyring"), "a backup never holds the keyring")
            #expect(!FileManager.default.fileExists(atPath: destination + "/unlock.key"))
            #expect(run.stderr.isEmpty, "progress must stay quiet in a pipe: \(run.stderr)")
            let tail = try tvaultOK(["audit", "tail", "-n", "1", "--data-dir", directory, "--format", "json"]).json()
            #expect((tail["records"] as? [[String: Any]])?.first?["action"] as? String == "backup")

            // A second backup into the same place is refused; text mode explains how to restore.
            let again = try tvault(["backup", destination, "--data-dir", directory])
            expectStatus(again, 1)
            #expect(again.stderr.contains("already holds a store"))
            let other = shortTemporaryPath()
            defer { try? FileManager.default.removeItem(atPath: other) }
            let text = try tvaultOK(["backup", other, "--data-dir", directory]).stdout
            #expect(text.contains("Backup written to \(other)/store"))
            #expect(text.contains("keyring"))
            #expect(text.contains("unlock secret"))
            #expect(text.contains("root epoch 1"))
        }
    }

    @Test("compact: swaps in a compacted file; the store still verifies")
    func compact() async throws {
        try await Self.withFilledStore { directory in
            let run = try tvaultOK(["compact", "--data-dir", directory, "--format", "json"])
            let json = try run.json()
            #expect(json["data_dir"] as? String == directory)
            let before = try #require(int(json, "before_bytes"))
            let after = try #require(int(json, "after_bytes"))
            #expect(after <= before)
            #expect(after == (try FileManager.default.attributesOfItem(atPath: directory + "/store/data.mdb")[.size] as? Int))
            #expect(!FileManager.default.fileExists(atPath: directory + "/store.compacting"))
            #expect(run.stderr.isEmpty)
            let verified = try tvaultOK(["verify", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(verified, "records") == 16)
            #expect(int(verified, "failures") == 0)
            #expect(try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()["intact"] as? Bool == true)
            let text = try tvaultOK(["compact", "--data-dir", directory]).stdout
            #expect(text.contains("Compacted \(directory)/store/data.mdb"))
            // Written data survive, and the store takes writes again.
            try await appendMessages(directory, tenant: "acme", conversations: ["c1"], count: 1)
            let stats = try tvaultOK(["stats", "--data-dir", directory, "--format", "json"]).json()
            #expect(int(stats, "messages") == 7)
        }
    }

    @Test("completions for bash, zsh and fish")
    func completions() throws {
        for shell in ["bash", "zsh", "fish"] {
            let run = try tvaultOK(["completions", shell])
            #expect(run.stdout.contains("tvault"))
            #expect(run.stdout.contains("audit"), "\(shell) script lacks the audit command")
        }
        let builtIn = try tvaultOK(["--generate-completion-script", "bash"])
        #expect(builtIn.stdout.contains("verify"))
    }

    @Test("every new command has --help with an example")
    func help() throws {
        for command in [["status"], ["stats"], ["verify"], ["backup"], ["compact"], ["audit", "tail"],
                        ["audit", "verify"], ["audit", "export"], ["completions"]] {
            let run = try tvaultOK(command + ["--help"])
            #expect(run.stdout.contains("Example"), "\(command.joined(separator: " ")) --help has no example")
            #expect(run.stdout.contains("tvault \(command[0])"))
        }
    }
}
