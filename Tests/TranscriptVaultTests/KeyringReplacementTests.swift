import Foundation
import Glibc
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// Replacing the keyring never releases an old sealed root to the file system intact: the old
/// file keeps a second name (`keyring.old`) until it is zeroed, and whatever a crash leaves
/// under that name is zeroed by the next open.
///
/// The zeroing of a removed file cannot be read back through its name, so each test first
/// gives the file a third name of its own (a "witness" hard link): the witness shows what was
/// written into the file before its other names went.
@Suite("Keyring replacement")
struct KeyringReplacementTests {
    static func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// A hard link to `path` at `witness`.
    static func witness(_ path: String, at witness: String) throws {
        try #require(link(path, witness) == 0, "link: \(String(cString: strerror(errno)))")
    }

    /// A store in `directory` with one conversation, closed again; returns the message.
    static func makeStore(_ directory: String) async throws -> [UInt8] {
        let message = sampleMessage("c", 1)
        try await withVault(testConfiguration(directory), initialize: true) { vault in
            _ = try await vault.createTenant("acme")
            _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [message]))
        }
        return message
    }

    static func expectReadable(_ directory: String, _ message: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await withVault(testConfiguration(directory)) { (vault) async throws in
            #expect(try vault.read(tenant: "acme", conversationID: "c").messages.map(\.message) == [message],
                    sourceLocation: sourceLocation)
        }
    }

    @Test("a root rotation zeroes the replaced keyring file and leaves no second name or temporary behind")
    func rotationZeroesTheOldFile() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let before = try Self.contents(keyring)
            try Self.witness(keyring, at: dir + "/witness")
            try await withVault(testConfiguration(dir)) { vault in
                _ = try await vault.rotateRoot()
            }
            let witnessed = try Self.contents(dir + "/witness")
            #expect(witnessed.count == before.count)
            #expect(witnessed.allSatisfy { $0 == 0 }, "the replaced keyring still holds its sealed root")
            #expect(!Self.exists(Keyring.retiredPath(keyring)))
            #expect(!Self.exists(keyring + ".tmp"))
            #expect(try Keyring.load(path: keyring).entries.map(\.epoch) == [2])
            try await Self.expectReadable(dir, message)
        }
    }

    @Test("an old keyring a crash left under its second name is zeroed and removed by the next open")
    func openZeroesALeftoverOldKeyring() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            // What a kill between the rename and the zeroing leaves: the old file (here a copy
            // of the live one, which holds a sealed root as the old one did) under `.old`.
            let old = try Self.contents(keyring)
            try Data(old).write(to: URL(fileURLWithPath: retired))
            try Self.witness(retired, at: dir + "/witness")
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(retired))
            let witnessed = try Self.contents(dir + "/witness")
            #expect(witnessed.count == old.count)
            #expect(witnessed.allSatisfy { $0 == 0 }, "the leftover keyring was removed without being zeroed")
            #expect(try Self.contents(keyring) == old, "the live keyring changed")
        }
    }

    @Test("a temporary keyring a crash left is zeroed and removed by the next open")
    func openZeroesALeftoverTemporary() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let temporary = keyring + ".tmp"
            let live = try Self.contents(keyring)
            try Data(live).write(to: URL(fileURLWithPath: temporary))
            try Self.witness(temporary, at: dir + "/witness")
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(temporary))
            let witnessed = try Self.contents(dir + "/witness")
            #expect(witnessed.count == live.count)
            #expect(witnessed.allSatisfy { $0 == 0 }, "the leftover temporary was removed without being zeroed")
            #expect(try Self.contents(keyring) == live)
        }
    }

    @Test("a second name that is still the live keyring's (a crash before the rename) is removed, and the keyring kept")
    func openKeepsALiveKeyringLinkedUnderTheSecondName() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            let live = try Self.contents(keyring)
            try Self.witness(keyring, at: retired)
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(retired))
            #expect(try Self.contents(keyring) == live)
            try await Self.expectReadable(dir, message)
        }
    }

    @Test("an open with the wrong unlock secret leaves a leftover old keyring as it is")
    func wrongSecretTouchesNoLeftover() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            let old = try Self.contents(keyring)
            try Data(old).write(to: URL(fileURLWithPath: retired))
            let other = dir + "/other.key"
            try UnlockSecret.generateKeyFile(at: other)
            var configuration = testConfiguration(dir)
            configuration.unlock = .keyFile(other)
            expectVaultError("wrongUnlockSecret", { $0 == .wrongUnlockSecret }) { _ = try Vault.open(configuration) }
            #expect(try Self.contents(retired) == old)
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(retired))
        }
    }

    @Test("a second name that is a symbolic link is removed without writing through it")
    func symbolicLinkIsNotFollowed() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            let target = dir + "/bystander"
            let bystander = Array("not a keyring".utf8)
            try Data(bystander).write(to: URL(fileURLWithPath: target))
            try #require(symlink(target, retired) == 0)
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(retired))
            #expect(try Self.contents(target) == bystander)
        }
    }
}
