import Foundation
import Testing

/// `tvault serve --format json`: what a script reads to learn the first token and the sockets.
@Suite("tvault serve --format json")
struct ServeJSONOutputTests {
    /// The JSON lines a server printed so far.
    static func events(_ server: ServerProcess) throws -> [[String: Any]] {
        try server.output.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
    }

    @Test("the first run prints a created event with a working token, then a listening event; a restart only the latter")
    func createdThenListening() async throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let first = try ServerProcess(directory: directory, arguments: ["--format", "json"])
        let events = try Self.events(first)
        try #require(events.count == 2, "\(first.output)")
        // Nothing but the two JSON lines: no text block beside them.
        #expect(!first.output.contains("Listening on") && !first.output.contains("shown only now"))
        let created = events[0]
        #expect(created["event"] as? String == "created")
        #expect(created["data_dir"] as? String == directory)
        #expect(created["unlock_key"] as? String == directory + "/unlock.key")
        #expect(created["tenant"] as? String == "default")
        let token = try #require(created["token"] as? String)
        #expect(token.hasPrefix("tvt_"))
        let listening = events[1]
        #expect(listening["event"] as? String == "listening")
        #expect(listening["socket"] as? String == directory + "/tvault.sock")
        #expect(listening["admin_socket"] as? String == directory + "/admin.sock")

        // The token printed is the tenant's, with every scope.
        let client = try LineSocket(path: first.socketPath)
        let auth = try client.auth(token: token)
        #expect((auth["result"] as? [String: Any])?["tenants"] as? [String] == ["default"])
        let appended = try client.append("c-1", [#"{"role":"user","content":"hi"}"#])
        #expect(int(appended, "result.first_seq") == 1)
        first.stop()

        let again = try ServerProcess(directory: directory, arguments: ["--format", "json"])
        defer { again.stop() }
        let restarted = try Self.events(again)
        #expect(restarted.count == 1, "\(again.output)")
        #expect(restarted.first?["event"] as? String == "listening")
        #expect(restarted.first?["token"] == nil)
    }
}
