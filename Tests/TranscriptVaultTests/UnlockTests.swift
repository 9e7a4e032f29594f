import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// Opening a store: each way of failing to unlock it has its own error, and a failed open
/// changes nothing in the directory.
@Suite("Unlock")
struct UnlockTests {
    static func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// A store in `directory` with one conversation, closed again.
    static func makeStore(_ directory: String, configuration: Vault.Configuration? = nil) async throws {
        try await withVault(configuration ?? testConfiguration(directory), initialize: true) { vault in
            _ = try await vault.createTenant("acme")
            _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 1)]))
        }
    }

    static func passphrase(_ text: String) throws -> UnlockSecret { .passphrase(try SecretBytes(copying: bytes(text))) }

    static func passphraseConfiguration(_ directory: String, _ text: String) throws -> Vault.Configuration {
        var configuration = Vault.Configuration(dataDirectory: directory, unlock: try passphrase(text))
        configuration.durable = false
        configuration.passphraseCost = .minimum
        return configuration
    }

    /// Expects opening with `configuration` to fail as `matches` says, and the keyring and the
    /// LMDB data file to be byte-identical afterwards.
    static func expectOpenFails(
        _ configuration: Vault.Configuration, _ description: String,
        sourceLocation: SourceLocation = #_sourceLocation, _ matches: (VaultError) -> Bool
    ) throws {
        let directory = configuration.dataDirectory
        let keyring = try? contents(directory.keyring)
        let data = try contents(directory.store + "/data.mdb")
        expectVaultError(description, sourceLocation: sourceLocation, matches) { _ = try Vault.open(configuration) }
        #expect((try? contents(directory.keyring)) == keyring, "the keyring changed", sourceLocation: sourceLocation)
        #expect(try contents(directory.store + "/data.mdb") == data, "data.mdb changed", sourceLocation: sourceLocation)
        #expect(!DirectoryLock.isHeld(path: directory.lockFile), "the failed open kept the lock", sourceLocation: sourceLocation)
    }

    @Test("a different key file is wrongUnlockSecret, and the store still opens with the right one")
    func wrongKeyFile() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            let other = dir + "/other.key"
            try UnlockSecret.generateKeyFile(at: other)
            var configuration = testConfiguration(dir)
            configuration.unlock = .keyFile(other)
            try Self.expectOpenFails(configuration, "wrongUnlockSecret") { $0 == .wrongUnlockSecret }
            try await withVault(testConfiguration(dir)) { (vault) async throws in
                #expect(try vault.read(tenant: "acme", conversationID: "c").messages.map(\.message) == [sampleMessage("c", 1)])
            }
        }
    }

    @Test("a wrong key file changes no file even when the redo log holds commits to replay")
    func wrongKeyWithLogToReplay() async throws {
        try await withTemporaryDirectory { dir in
            var live = testConfiguration(dir + "/live")
            live.durable = true
            let vault = try Vault.initialize(live)
            defer { vault.close() }
            _ = try await vault.createTenant("acme")
            _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 1)]))
            // What a crash leaves now: the files copied while the store is open, its last
            // commits only in the redo log's records (opening applies them).
            let image = dir + "/image"
            try FileManager.default.createDirectory(atPath: image + "/store", withIntermediateDirectories: true)
            for name in ["store/data.mdb", "store/redo.log", "keyring", "unlock.key"] {
                try FileManager.default.copyItem(atPath: dir + "/live/" + name, toPath: image + "/" + name)
            }
            let log = try Self.contents(image + "/store/redo.log")
            try UnlockSecret.generateKeyFile(at: dir + "/other.key")
            var wrong = testConfiguration(image)
            wrong.durable = true
            wrong.unlock = .keyFile(dir + "/other.key")
            try Self.expectOpenFails(wrong, "wrongUnlockSecret") { $0 == .wrongUnlockSecret }
            #expect(try Self.contents(image + "/store/redo.log") == log, "redo.log changed")

            var right = testConfiguration(image)
            right.durable = true
            try await withVault(right) { (reopened) async throws in
                #expect(try reopened.read(tenant: "acme", conversationID: "c").messages.map(\.message) == [sampleMessage("c", 1)])
            }
        }
    }

    @Test("a passphrase store opens with its passphrase only")
    func passphraseStore() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir, configuration: try Self.passphraseConfiguration(dir, "correct horse battery staple"))
            #expect(!FileManager.default.fileExists(atPath: DataDirectory(path: dir).unlockKey), "a key file was made for a passphrase store")

            try Self.expectOpenFails(try Self.passphraseConfiguration(dir, "correct horse battery stapler"), "wrongUnlockSecret") {
                $0 == .wrongUnlockSecret
            }
            try Self.expectOpenFails(try Self.passphraseConfiguration(dir, ""), "wrongUnlockSecret") { $0 == .wrongUnlockSecret }
            try Self.expectOpenFails(testConfiguration(dir), "unlockSecretMissing") {
                if case .unlockSecretMissing = $0 { true } else { false }
            }
            try await withVault(try Self.passphraseConfiguration(dir, "correct horse battery staple")) { (vault) async throws in
                #expect(try vault.read(tenant: "acme", conversationID: "c").messages.count == 1)
            }
        }
    }

    @Test("a key-file store opened with a passphrase is unlockSecretMissing")
    func keyFileStoreWithPassphrase() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            try Self.expectOpenFails(try Self.passphraseConfiguration(dir, "anything"), "unlockSecretMissing") {
                if case .unlockSecretMissing = $0 { true } else { false }
            }
        }
    }

    @Test("a missing, empty or malformed key file is unlockSecretMissing",
          arguments: ["missing", "empty", "short", "not hex"])
    func badKeyFile(kind: String) async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            let path = DataDirectory(path: dir).unlockKey
            try FileManager.default.removeItem(atPath: path)
            let content: String? = switch kind {
            case "empty": ""
            case "short": String(repeating: "ab", count: 31)
            case "not hex": String(repeating: "zz", count: 32)
            default: nil
            }
            if let content { try Data(content.utf8).write(to: URL(fileURLWithPath: path)) }
            try Self.expectOpenFails(testConfiguration(dir), "unlockSecretMissing") {
                if case .unlockSecretMissing = $0 { true } else { false }
            }
        }
    }

    @Test("a damaged keyring is keyringCorrupted", arguments: [
        "flip first byte", "flip middle byte", "flip last byte", "truncate to half", "truncate to 10", "empty", "append a byte",
    ])
    func corruptedKeyring(damage: String) async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            let path = DataDirectory(path: dir).keyring
            var keyring = try Self.contents(path)
            switch damage {
            case "flip first byte": keyring[0] ^= 0x01
            case "flip middle byte": keyring[keyring.count / 2] ^= 0x40
            case "flip last byte": keyring[keyring.count - 1] ^= 0x80
            case "truncate to half": keyring = Array(keyring.prefix(keyring.count / 2))
            case "truncate to 10": keyring = Array(keyring.prefix(10))
            case "empty": keyring = []
            default: keyring.append(0)
            }
            try Data(keyring).write(to: URL(fileURLWithPath: path))
            try Self.expectOpenFails(testConfiguration(dir), "keyringCorrupted") {
                if case .keyringCorrupted = $0 { true } else { false }
            }
        }
    }

    @Test("the keyring (and unlock key) of another store is keyringMismatch")
    func foreignKeyring() async throws {
        try await withTemporaryDirectory { dir in
            let first = dir + "/first"
            let second = dir + "/second"
            try await Self.makeStore(first)
            try await Self.makeStore(second)
            let target = DataDirectory(path: first)
            let source = DataDirectory(path: second)
            for (from, to) in [(source.keyring, target.keyring), (source.unlockKey, target.unlockKey)] {
                try FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
            try Self.expectOpenFails(testConfiguration(first), "keyringMismatch") {
                if case .keyringMismatch = $0 { true } else { false }
            }
            // With only the keyring swapped, the key file does not open it: still refused.
            try FileManager.default.removeItem(atPath: target.unlockKey)
            try await withTemporaryDirectory { spare in
                try await Self.makeStore(spare)
                try FileManager.default.copyItem(atPath: DataDirectory(path: spare).unlockKey, toPath: target.unlockKey)
            }
            expectVaultError("an unlock failure", { $0.isUnlockFailure }) { _ = try Vault.open(testConfiguration(first)) }
        }
    }

    @Test("initialising over a store whose keyring is missing is keyringMismatch, creates nothing, and the store opens once its keyring is back")
    func initializeOverStoreWithoutKeyring() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            let directory = DataDirectory(path: dir)
            let aside = dir + "-aside"
            try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: aside) }
            try FileManager.default.moveItem(atPath: directory.keyring, toPath: aside + "/keyring")
            try FileManager.default.moveItem(atPath: directory.unlockKey, toPath: aside + "/unlock.key")
            let data = try Self.contents(directory.store + "/data.mdb")

            expectVaultError("keyringMismatch", { if case .keyringMismatch = $0 { true } else { false } }) {
                _ = try Vault.initialize(testConfiguration(dir))
            }
            // Nothing was made beside the store: no key file, no keyring, the store untouched.
            #expect(!FileManager.default.fileExists(atPath: directory.unlockKey))
            #expect(!FileManager.default.fileExists(atPath: directory.keyring))
            #expect(try Self.contents(directory.store + "/data.mdb") == data)
            #expect(!DirectoryLock.isHeld(path: directory.lockFile))

            try FileManager.default.moveItem(atPath: aside + "/keyring", toPath: directory.keyring)
            try FileManager.default.moveItem(atPath: aside + "/unlock.key", toPath: directory.unlockKey)
            try await withVault(testConfiguration(dir)) { (vault) async throws in
                #expect(try vault.read(tenant: "acme", conversationID: "c").messages.map(\.message) == [sampleMessage("c", 1)])
            }
        }
    }

    @Test("what an init interrupted before its keyring leaves (its metadata only) is initialised again")
    func initializeAfterInterruptedInit() async throws {
        try await withTemporaryDirectory { dir in
            let configuration = testConfiguration(dir)
            try configuration.dataDirectory.create()
            var options = Environment.Options()
            options.durable = false
            do {
                let environment = try Environment(path: configuration.dataDirectory.store, databases: Schema.all, options: options)
                try environment.write { txn in
                    let meta = environment[Schema.meta]
                    try txn.put([Schema.formatVersion], forKey: Schema.MetaKey.format, in: meta)
                    try txn.put(Array(repeating: 7, count: 16), forKey: Schema.MetaKey.storeID, in: meta)
                    try txn.put(.bigEndian(UInt64(1)), forKey: Schema.MetaKey.rootEpoch, in: meta)
                    try txn.put(.bigEndian(UInt32(1)), forKey: Schema.MetaKey.nextTenant, in: meta)
                }
            }
            #expect(configuration.dataDirectory.holdsStore && !configuration.dataDirectory.isInitialized)
            try await withVault(configuration, initialize: true) { vault in
                _ = try await vault.createTenant("acme")
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 1)]))
                #expect(try vault.read(tenant: "acme", conversationID: "c").messages.count == 1)
            }
        }
    }

    @Test("a second open of an open store is storeLocked, and works once the first is closed")
    func secondOpen() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            try await withVault(testConfiguration(dir)) { (vault) async throws in
                expectVaultError("storeLocked", { if case .storeLocked = $0 { true } else { false } }) {
                    _ = try Vault.open(testConfiguration(dir))
                }
                expectVaultError("storeLocked", { if case .storeLocked = $0 { true } else { false } }) {
                    _ = try Vault.initialize(testConfiguration(dir))
                }
                // The failed opens did not disturb the open store.
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 2)]))
            }
            try await withVault(testConfiguration(dir)) { (vault) async throws in
                #expect(try vault.read(tenant: "acme", conversationID: "c").messages.count == 2)
            }
        }
    }

    @Test("initialising an initialised store is alreadyInitialized; opening an empty directory is notInitialized")
    func initialiseTwice() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.makeStore(dir)
            expectVaultError("alreadyInitialized", { if case .alreadyInitialized = $0 { true } else { false } }) {
                _ = try Vault.initialize(testConfiguration(dir))
            }
            let empty = dir + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
            expectVaultError("notInitialized", { if case .notInitialized = $0 { true } else { false } }) {
                _ = try Vault.open(testConfiguration(empty))
            }
        }
    }
}
