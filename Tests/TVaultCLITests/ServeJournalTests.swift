import Foundation
import Testing

/// `tvault serve` under systemd: its standard output is the journal, which keeps what it is
/// given, so a first run issues no token to print there.
@Suite("tvault serve with its output in the journal")
struct ServeJournalTests {
    @Test("a first run whose output is the journal creates the store and tenant but prints no token; it says how to issue one", arguments: ["text", "json"])
    func firstRunPrintsNoToken(format: String) async throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(directory: directory, arguments: ["--format", format], journal: .output)
        defer { server.stop() }
        let output = server.output
        #expect(!output.contains("tvt_"), "a token reached the journal: \(output)")
        if format == "json" {
            let created = try #require(output.split(separator: "\n").first { $0.contains(#""event":"created""#) })
            let event = try #require(try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])
            #expect(event["tenant"] as? String == "default")
            #expect(event["token"] is NSNull)
        } else {
            #expect(output.contains("none issued"))
            #expect(output.contains("tvault token issue --tenant default"))
        }
        // No token exists at all, and the one the hint describes can be issued while it runs.
        let listed = try tvaultOK(["token", "list", "--data-dir", directory, "--format", "json"])
        let tokens = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        #expect((tokens["tokens"] as? [Any])?.isEmpty == true)
        let issued = try tvaultOK(["token", "issue", "--tenant", "default", "--scopes", "append,read", "--data-dir", directory, "--format", "json"])
        let token = try #require((try JSONSerialization.jsonObject(with: Data(issued.stdout.utf8)) as? [String: Any])?["token"] as? String)
        let client = try LineSocket(path: server.socketPath)
        let auth = try client.auth(token: token)
        #expect((auth["result"] as? [String: Any])?["tenants"] as? [String] == ["default"])
    }

    @Test("JOURNAL_STREAM naming another file than standard output changes nothing: the token is printed")
    func otherStreamStillPrints() async throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let other = directory + ".other-stream"
        _ = FileManager.default.createFile(atPath: other, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: other) }
        // As when the service's standard error is the journal and its output is not.
        let server = try ServerProcess(directory: directory, arguments: [], journal: .file(other))
        defer { server.stop() }
        #expect(server.output.contains("tvt_"))
        #expect(server.output.contains("shown only now"))
    }
}
