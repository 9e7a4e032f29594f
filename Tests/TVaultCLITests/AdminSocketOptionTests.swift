import Foundation
import Testing

/// `--admin-socket` (or `TVAULT_ADMIN_SOCKET`) is one option for every command: where `serve`
/// listens for the CLI, and where the other commands reach it.
@Suite("tvault with the admin socket elsewhere", .serialized)
struct AdminSocketOptionTests {
    @Test("a server with --admin-socket elsewhere is reached with the same option or the variable, and named when not")
    func adminSocketElsewhere() async throws {
        try await withStore { directory in
            let elsewhere = shortTemporaryPath()
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(atPath: elsewhere) }
            let adminSocket = elsewhere + "/adm.sock"
            let server = try ServerProcess(directory: directory, arguments: ["--admin-socket", adminSocket])
            defer { server.stop() }
            #expect(FileManager.default.fileExists(atPath: adminSocket))
            #expect(!FileManager.default.fileExists(atPath: directory + "/admin.sock"))

            // Without it, the CLI finds the server (its lock) but says where it looked and what to do.
            let lost = try tvault(["tenant", "create", "beta", "--data-dir", directory, "--format", "json"])
            expectStatus(lost, 1)
            #expect(lost.stderr.contains(directory + "/admin.sock"))
            #expect(lost.stderr.contains("--admin-socket"))
            // `status` still answers: a server owns the store, its figures are out of reach.
            let lostStatus = try tvault(["status", "--data-dir", directory, "--format", "json"])
            expectStatus(lostStatus, 1)
            #expect(lostStatus.stderr.contains(directory + "/admin.sock"))
            let partial = try lostStatus.json()
            #expect(partial["server_running"] as? Bool == true)
            #expect(partial["initialized"] as? Bool == true)
            #expect(partial["tenants"] is NSNull)

            let created = try tvaultOK(["tenant", "create", "beta", "--data-dir", directory, "--admin-socket", adminSocket, "--format", "json"]).json()
            #expect(created["tenant"] as? String == "beta")
            let status = try tvaultOK(["status", "--data-dir", directory, "--admin-socket", adminSocket, "--format", "json"]).json()
            #expect(status["server_running"] as? Bool == true)
            #expect(status["admin_socket"] as? String == adminSocket)
            #expect(int(status, "tenants") == 1)

            let viaVariable = try tvault(["tenant", "list", "--data-dir", directory, "--format", "json"],
                                         environment: ["TVAULT_ADMIN_SOCKET": adminSocket])
            #expect(viaVariable.status == 0, "\(viaVariable)")
            let tenants = try viaVariable.json()["tenants"] as? [[String: Any]]
            #expect(tenants?.compactMap { $0["name"] as? String } == ["beta"])
        }
    }
}
