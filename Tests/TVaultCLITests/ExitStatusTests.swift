import Foundation
import Testing

/// The documented exit statuses: 64 for a usage error, 2 for a store that cannot be unlocked.
@Suite("Exit statuses")
struct ExitStatusTests {
    @Test("usage errors exit 64", arguments: [
        ["audit", "tail", "-n", "0"],
        ["audit", "tail", "-n", "many"],
        ["audit", "frobnicate"],
        ["backup"],
        ["completions", "tcsh"],
        ["stats", "--format", "yaml"],
        ["verify", "--no-such-flag"],
        ["compact", "extra-argument"],
        ["nonsense"],
    ])
    func usageErrors(_ arguments: [String]) throws {
        let run = try tvault(arguments + ["--data-dir", shortTemporaryPath()])
        expectStatus(run, 64)
        #expect(run.stdout.isEmpty)
        #expect(!run.stderr.isEmpty, "a usage error must say what is wrong")
    }

    @Test("a wrong unlock key exits 2 and changes nothing", arguments: [
        ["status"], ["stats"], ["verify"], ["audit", "tail"], ["audit", "verify"], ["audit", "export"], ["backup", "DEST"],
    ])
    func wrongUnlockKey(_ command: [String]) async throws {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            let wrongKey = directory + ".wrong-key"
            defer { try? FileManager.default.removeItem(atPath: wrongKey) }
            let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try (hex + "\n").write(toFile: wrongKey, atomically: true, encoding: .utf8)
            let destination = shortTemporaryPath()
            defer { try? FileManager.default.removeItem(atPath: destination) }
            let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/store/data.mdb"))
            let arguments = command.map { $0 == "DEST" ? destination : $0 }
            let run = try tvault(arguments + ["--data-dir", directory, "--unlock-key", wrongKey, "--format", "json"])
            expectStatus(run, 2)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.contains("unlock secret"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/store/data.mdb")) == before)
            #expect(!FileManager.default.fileExists(atPath: destination + "/store/data.mdb"))
        }
    }

    @Test("a wrong passphrase from the environment exits 2")
    func wrongPassphrase() async throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let initialised = try tvault(["init", "--data-dir", directory], environment: ["TVAULT_PASSPHRASE": "correct horse battery staple"])
        try #require(initialised.status == 0, "\(initialised)")
        let run = try tvault(["stats", "--data-dir", directory], environment: ["TVAULT_PASSPHRASE": "wrong"])
        expectStatus(run, 2)
        let right = try tvault(["stats", "--data-dir", directory, "--format", "json"], environment: ["TVAULT_PASSPHRASE": "correct horse battery staple"])
        expectStatus(right, 0)
    }
}
