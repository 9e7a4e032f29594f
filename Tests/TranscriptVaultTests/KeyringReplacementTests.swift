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

    /// What a kill during a replacement may leave beside the live keyring: a copy of it (which
    /// holds a sealed root, as an old keyring or a temporary does) at `path`, with a witness at
    /// `witness` when given; returns its bytes.
    static func plantCopy(of keyring: String, at path: String, witness: String? = nil) throws -> [UInt8] {
        let bytes = try contents(keyring)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if let witness { try Self.witness(path, at: witness) }
        return bytes
    }

    /// The names a replacement uses beside the keyring, which a kill may leave behind.
    enum Leftover: String, CaseIterable, Sendable {
        case old = "the old keyring's second name"
        case temporary = "the temporary"

        func path(beside keyring: String) -> String {
            switch self {
            case .old: Keyring.retiredPath(keyring)
            case .temporary: keyring + ".tmp"
            }
        }
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

    @Test("a copy of a keyring a kill left (the old one under its second name, or the temporary) is zeroed and removed by the next open",
          arguments: Leftover.allCases)
    func openZeroesALeftover(_ leftover: Leftover) async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let path = leftover.path(beside: keyring)
            let planted = try Self.plantCopy(of: keyring, at: path, witness: dir + "/witness")
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(path))
            let witnessed = try Self.contents(dir + "/witness")
            #expect(witnessed.count == planted.count)
            #expect(witnessed.allSatisfy { $0 == 0 }, "\(leftover.rawValue) was removed without being zeroed")
            #expect(try Self.contents(keyring) == planted, "the live keyring changed")
        }
    }

    /// A name beside the keyring may still be the live keyring's own: `.old` after a kill
    /// between the link and the rename, and `.tmp` after one inside the rename (rename(2) may
    /// leave both names on the new file for a moment, and a file system without a journal keeps
    /// that across a crash). Zeroing it would destroy the store's root.
    @Test("a leftover name that is still the live keyring's is removed, and the keyring kept", arguments: Leftover.allCases)
    func openKeepsALiveKeyringUnderALeftoverName(_ leftover: Leftover) async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let path = leftover.path(beside: keyring)
            let live = try Self.contents(keyring)
            try Self.witness(keyring, at: path)
            try await Self.expectReadable(dir, message)
            #expect(!Self.exists(path))
            #expect(try Self.contents(keyring) == live, "the live keyring was zeroed")
            try await Self.expectReadable(dir, message)
        }
    }

    @Test("an open with the wrong unlock secret leaves a leftover old keyring as it is")
    func wrongSecretTouchesNoLeftover() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await Self.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            let old = try Self.plantCopy(of: keyring, at: retired)
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
