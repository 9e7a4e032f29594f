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
        // Values that would overflow a time computation, and options that contradict each other.
        ["tenant", "shred", "acme", "--yes", "--delay-days", "36501"],
        ["tenant", "shred", "acme", "--yes", "--delay-days", "9223372036854775807"],
        ["tenant", "shred", "acme", "--yes", "--delay-days", "-1"],
        ["tenant", "shred", "acme", "--yes", "--delay-days", "2", "--now"],
        ["serve", "--erasure-delay", "9223372036854775807"],
        ["serve", "--erasure-delay", "-1"],
        // Tenant names that no tenant can have.
        ["tenant", "show", "Not_A_Tenant"],
        ["tenant", "cancel-shred", "Not_A_Tenant"],
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

    @Test("a store whose keyring is missing exits 2 and says so, and neither init nor serve takes it over")
    func missingKeyring() async throws {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            let keyring = directory + "/keyring"
            let saved = try Data(contentsOf: URL(fileURLWithPath: keyring))
            try FileManager.default.removeItem(atPath: keyring)
            for command in [["stats"], ["status"], ["tenant", "list"], ["verify"]] {
                let run = try tvault(command + ["--data-dir", directory, "--format", "json"])
                expectStatus(run, 2)
                #expect(run.stderr.contains("no keyring file at \(keyring)"), "\(run)")
                #expect(!run.stderr.contains("run `tvault init`"))
            }
            // Neither init nor serve takes the store over, nor makes anything beside it, even with
            // the unlock key gone too: both exit 2 and name the missing keyring.
            let unlockKey = directory + "/unlock.key"
            let savedKey = try Data(contentsOf: URL(fileURLWithPath: unlockKey))
            try FileManager.default.removeItem(atPath: unlockKey)
            for command in [["init"], ["serve"]] {
                let run = try tvault(command + ["--data-dir", directory])
                expectStatus(run, 2)
                #expect(run.stderr.contains("no keyring file at \(keyring)"), "\(run)")
                #expect(!FileManager.default.fileExists(atPath: keyring), "\(command[0]) replaced the keyring of a store with tenants")
                #expect(!FileManager.default.fileExists(atPath: unlockKey), "\(command[0]) made a new unlock key")
            }
            // Put back, the store opens as before.
            try savedKey.write(to: URL(fileURLWithPath: unlockKey))
            try saved.write(to: URL(fileURLWithPath: keyring))
            let tenants = try tvaultOK(["tenant", "list", "--data-dir", directory, "--format", "json"]).json()["tenants"] as? [[String: Any]]
            #expect(tenants?.compactMap { $0["name"] as? String } == ["acme"])
        }
    }

    @Test("a store with no tenant yet whose keyring is missing is not initialised again: its store id stays")
    func missingKeyringNoTenant() async throws {
        try await withStore { directory in
            // A token key and an audit record exist already; a new keyring could open neither.
            let before = try tvaultOK(["audit", "tail", "--data-dir", directory, "--format", "json"]).stdout
            let keyring = directory + "/keyring"
            let saved = try Data(contentsOf: URL(fileURLWithPath: keyring))
            try FileManager.default.removeItem(atPath: keyring)
            let run = try tvault(["init", "--data-dir", directory])
            expectStatus(run, 2)
            #expect(!FileManager.default.fileExists(atPath: keyring))
            try saved.write(to: URL(fileURLWithPath: keyring))
            let after = try tvault(["audit", "tail", "--data-dir", directory, "--format", "json"])
            expectStatus(after, 0)
            #expect(after.stdout == before, "the store changed: \(after)")
        }
    }

    @Test("a passphrase file that cannot be read exits 2, like any missing unlock secret")
    func missingPassphraseFile() async throws {
        try await withStore { directory in
            let run = try tvault(["tenant", "list", "--data-dir", directory, "--passphrase-file", directory + ".no-such-file"])
            expectStatus(run, 2)
            #expect(run.stderr.contains("cannot read the passphrase file"), "\(run)")
        }
    }

    @Test("a command on a data directory without a store says so, and leaves nothing in it")
    func noStore() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try tvault(["tenant", "list", "--data-dir", directory])
        expectStatus(missing, 1)
        #expect(missing.stderr.contains("no store in \(directory)"), "\(missing)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let empty = try tvault(["stats", "--data-dir", directory])
        expectStatus(empty, 1)
        #expect(empty.stderr.contains("no store in \(directory)"), "\(empty)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "a file was created in the empty directory")
    }

    @Test("a file the CLI cannot create is named, with the reason")
    func uncreatableFiles() async throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = directory + "-missing/unlock.key"
        let run = try tvault(["init", "--data-dir", directory, "--unlock-key", key])
        expectStatus(run, 1)
        #expect(run.stderr.contains(key) && run.stderr.contains("No such file or directory"), "\(run)")
        try await withStore { directory in
            let output = directory + "-missing/audit.jsonl"
            let export = try tvault(["audit", "export", "--output", output, "--data-dir", directory])
            expectStatus(export, 1)
            #expect(export.stderr.contains(output) && export.stderr.contains("No such file or directory"), "\(export)")
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

    @Test("an empty passphrase, from the environment or a file, is a usage error, and no store is made")
    func emptyPassphrase() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let empty = directory + ".passphrase"
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try Data("\n".utf8).write(to: URL(fileURLWithPath: empty))
        for (arguments, environment) in [([], ["TVAULT_PASSPHRASE": ""]), (["--passphrase-file", empty], [:])] {
            let run = try tvault(["init", "--data-dir", directory] + arguments, environment: environment)
            expectStatus(run, 64)
            #expect(run.stderr.contains("empty"), "\(run)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/keyring"), "a store was made: \(run)")
        }
    }

    @Test("--unlock-key beats TVAULT_PASSPHRASE; with --passphrase-file too it is a usage error")
    func unlockKeyBeatsEnvironment() throws {
        let directory = shortTemporaryPath()
        let key = directory + ".key"
        let passphrase = directory + ".passphrase"
        defer {
            for path in [directory, key, passphrase] { try? FileManager.default.removeItem(atPath: path) }
        }
        try Data("a passphrase\n".utf8).write(to: URL(fileURLWithPath: passphrase))
        let both = try tvault(["init", "--data-dir", directory, "--unlock-key", key, "--passphrase-file", passphrase])
        expectStatus(both, 64)
        #expect(both.stderr.contains("not both"), "\(both)")
        let made = try tvault(["init", "--data-dir", directory, "--unlock-key", key, "--format", "json"],
                              environment: ["TVAULT_PASSPHRASE": "ignored"])
        expectStatus(made, 0)
        #expect(try made.json()["unlock"] as? String == key)
        #expect(FileManager.default.fileExists(atPath: key))
        let listed = try tvault(["tenant", "list", "--data-dir", directory, "--unlock-key", key],
                                environment: ["TVAULT_PASSPHRASE": "ignored"])
        expectStatus(listed, 0)
    }
}
