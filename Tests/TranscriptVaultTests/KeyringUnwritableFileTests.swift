import Foundation
import Glibc
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// An operator may make the keyring read-only (`chmod 400`, as the unlock key is): the old file
/// must still be zeroed before its last name goes, never removed with its sealed roots in it.
/// A leftover the process cannot write at all keeps its name rather than go unzeroed.
///
/// Run as root, whom a file's mode does not stop, each step that must meet the mode runs on one
/// thread with its file-system user set to an ordinary user (`setfsuid(2)`, which drops root's
/// file capabilities for that thread only), on files that user owns.
@Suite("Keyring replacement with files it cannot write")
struct KeyringUnwritableFileTests {
    static let user: uid_t = 65534

    static var isRoot: Bool { getuid() == 0 }

    /// Runs `body` (synchronous: it stays on this thread) with the thread's file-system user set
    /// to `user` (as root; otherwise as this user).
    static func asUser<R>(_ body: () throws -> R) throws -> R {
        guard isRoot else { return try body() }
        typealias SetFSUID = @convention(c) (uid_t) -> Int32
        let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid"))
        let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
        _ = setfsuid(user)
        defer { _ = setfsuid(0) }
        return try body()
    }

    /// Gives `paths` to `user` (as root; otherwise they are this user's already).
    static func chown(_ paths: [String]) throws {
        guard isRoot else { return }
        for path in paths { try #require(lchown(path, user, user) == 0, "chown \(path): \(String(cString: strerror(errno)))") }
    }

    @Test("a replacement zeroes the old keyring even when its mode is read-only")
    func replacementZeroesAReadOnlyOldKeyring() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await KeyringReplacementTests.makeStore(dir)
            let keyring = dir + "/keyring"
            let before = try KeyringReplacementTests.contents(keyring)
            try #require(chmod(keyring, 0o400) == 0)
            try KeyringReplacementTests.witness(keyring, at: dir + "/witness")
            try Self.chown([dir, keyring])
            let loaded = try Keyring.load(path: keyring)
            try Self.asUser {
                // The check that the mode holds for this thread.
                let probe = open(keyring, O_RDWR | O_CLOEXEC)
                if probe >= 0 { close(probe) }
                try #require(probe < 0 && errno == EACCES, "the file-system user did not change")
                try loaded.save(path: keyring)
            }
            let witnessed = try KeyringReplacementTests.contents(dir + "/witness")
            #expect(witnessed.count == before.count)
            #expect(witnessed.allSatisfy { $0 == 0 }, "the replaced read-only keyring was removed with its sealed root")
            #expect(!KeyringReplacementTests.exists(Keyring.retiredPath(keyring)))
            try await KeyringReplacementTests.expectReadable(dir, message)
        }
    }

    @Test("a read-only old keyring a crash left is zeroed before its name goes")
    func leftoverReadOnlyOldKeyringIsZeroed() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await KeyringReplacementTests.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            _ = try KeyringReplacementTests.plantCopy(of: keyring, at: retired, witness: dir + "/witness")
            try #require(chmod(retired, 0o400) == 0)
            try Self.chown([dir, keyring, retired])
            let outcome = try Self.asUser { Result { try Keyring.destroyLeftovers(path: keyring) } }
            let witnessed = try KeyringReplacementTests.contents(dir + "/witness")
            #expect(witnessed.allSatisfy { $0 == 0 } || KeyringReplacementTests.exists(retired),
                    "the leftover was removed with its sealed root (\(outcome))")
            #expect(witnessed.allSatisfy { $0 == 0 }, "the leftover was not zeroed")
            try await KeyringReplacementTests.expectReadable(dir, message)
        }
    }

    @Test("an old keyring a crash left that cannot be zeroed keeps its name, with an error",
          .enabled(if: isRoot, "needs root to leave a file another user owns"))
    func unwritableLeftoverKeepsItsName() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await KeyringReplacementTests.makeStore(dir)
            let keyring = dir + "/keyring"
            let retired = Keyring.retiredPath(keyring)
            // Left by a run as another user (here root): this user may remove the name (the
            // directory is its own) but neither write the file nor change its mode.
            _ = try KeyringReplacementTests.plantCopy(of: keyring, at: retired, witness: dir + "/witness")
            try #require(chmod(retired, 0o600) == 0)
            try Self.chown([dir, keyring])
            let outcome = try Self.asUser { Result { try Keyring.destroyLeftovers(path: keyring) } }
            let witnessed = try KeyringReplacementTests.contents(dir + "/witness")
            #expect(witnessed.allSatisfy { $0 == 0 } || KeyringReplacementTests.exists(retired),
                    "the leftover was removed with its sealed root (\(outcome))")
            if case .success = outcome { Issue.record("a leftover that was not zeroed was reported destroyed") }
        }
    }
}
