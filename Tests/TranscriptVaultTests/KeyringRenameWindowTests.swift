import Foundation
import Glibc
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// rename(2) may leave a window in which the temporary and `keyring` both name the new file
/// (its man page says so; a file system without a journal keeps that state across a crash).
/// The temporary is then the live keyring, and zeroing it would destroy the store's root.
@Suite("Keyring replacement: the rename's window")
struct KeyringRenameWindowTests {
    @Test("a temporary that is still the live keyring's name (a crash inside the rename) is removed, and the keyring kept")
    func openKeepsALiveKeyringLinkedUnderTheTemporaryName() async throws {
        try await withTemporaryDirectory { dir in
            let message = try await KeyringReplacementTests.makeStore(dir)
            let keyring = dir + "/keyring"
            let temporary = keyring + ".tmp"
            let live = try KeyringReplacementTests.contents(keyring)
            try KeyringReplacementTests.witness(keyring, at: temporary)
            try await KeyringReplacementTests.expectReadable(dir, message)
            #expect(!KeyringReplacementTests.exists(temporary))
            #expect(try KeyringReplacementTests.contents(keyring) == live, "the live keyring was zeroed")
            try await KeyringReplacementTests.expectReadable(dir, message)
        }
    }
}
