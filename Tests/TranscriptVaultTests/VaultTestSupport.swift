import Foundation
import Synchronization
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

/// A fresh directory under the system temporary directory, removed when the test is done.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("tvault-vault-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Holds a writer's thread: `init` queues a job that blocks until `open()`, and returns once the
/// writer runs it, alone in its batch, so that whatever is queued next waits behind it.
final class WriterGate: Sendable {
    private final class Latch: Sendable {
        let release = DispatchSemaphore(value: 0)
        let entered = Atomic<Bool>(false)
    }

    private let latch: Latch
    private let ticket: WriteTicket<Void>

    init(_ writer: Writer) async throws {
        let latch = Latch()
        self.latch = latch
        ticket = writer.enqueue { _ in
            latch.entered.store(true, ordering: .releasing)
            latch.release.wait()
        }
        while !latch.entered.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
    }

    /// Lets the writer go on.
    func open() { latch.release.signal() }

    /// Waits until the gate's own batch has committed.
    func passed() async throws { try await ticket.value() }
}

/// A configuration for tests: key-file unlock (the default, fast), no fsync (durability is
/// measured by the crash test, which runs a separate process with the default settings).
func testConfiguration(_ directory: String) -> Vault.Configuration {
    var configuration = Vault.Configuration(dataDirectory: directory)
    configuration.durable = false
    configuration.initialMapSize = 8 << 20
    return configuration
}

/// Runs `body` with an open vault and releases it afterwards, so that the directory can be
/// opened again. Fails the test if something kept the vault (and so the directory) alive.
func withVault<R>(
    _ configuration: Vault.Configuration, initialize: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Vault) async throws -> R
) async throws -> R {
    let result = try await runScoped(configuration, initialize: initialize, body)
    try #require(!DirectoryLock.isHeld(path: configuration.dataDirectory.lockFile),
                 "the vault was not released", sourceLocation: sourceLocation)
    return result
}

/// Opens a vault, runs `body`, and drops the last reference on return.
private func runScoped<R>(
    _ configuration: Vault.Configuration, initialize: Bool, _ body: (Vault) async throws -> R
) async throws -> R {
    let vault = initialize ? try Vault.initialize(configuration) : try Vault.open(configuration)
    defer { vault.close() }
    return try await body(vault)
}

/// A new store with the given tenants, initialised in `directory`.
func withNewVault<R>(
    _ directory: String, tenants: [String] = ["acme"],
    configure: (inout Vault.Configuration) -> Void = { _ in },
    _ body: (Vault) async throws -> R
) async throws -> R {
    var configuration = testConfiguration(directory)
    configure(&configuration)
    return try await withVault(configuration, initialize: true) { vault in
        for tenant in tenants { _ = try await vault.createTenant(tenant) }
        return try await body(vault)
    }
}

/// UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A small JSON message whose bytes identify `tag` and `index`.
func sampleMessage(_ tag: String, _ index: Int) -> [UInt8] {
    bytes(#"{"role":"user","tag":"\#(tag)","i":\#(index),"content":"message \#(index) of \#(tag)"}"#)
}

/// Every message of a conversation, following `nextAfterSeq` to the end.
func readAll(_ vault: Vault, tenant: String, conversation: String, limit: Int = 1000) throws -> [StoredMessage] {
    var messages: [StoredMessage] = []
    var after: UInt64 = 0
    while true {
        let page = try vault.read(tenant: tenant, conversationID: conversation, afterSeq: after, limit: limit)
        messages += page.messages
        guard let next = page.nextAfterSeq else { return messages }
        after = next
    }
}

/// Random lowercase letters and digits, for canaries and unique names.
func randomToken(_ count: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<count).map { _ in alphabet.randomElement()! })
}

/// Expects `body` to throw `VaultError.invalidArgument` naming `field`.
func expectInvalidArgument(
    _ field: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected invalidArgument(\(field)), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let VaultError.invalidArgument(actual, _) {
        #expect(actual == field, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected invalidArgument(\(field)), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw `VaultError.recordCorrupted`, whatever record it names.
func expectCorrupted(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected recordCorrupted, but the read succeeded", sourceLocation: sourceLocation)
    } catch VaultError.recordCorrupted {
        // The one acceptable outcome: an integrity failure, never other plaintext.
    } catch {
        Issue.record("expected recordCorrupted, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw an error equal to `expected`.
func expectError<E: Error & Equatable>(
    _ expected: E, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(expected), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw a `VaultError` for which `matches` holds.
func expectVaultError(
    _ description: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ matches: (VaultError) -> Bool, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(description), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as VaultError {
        #expect(matches(error), "expected \(description), got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(description), got \(error)", sourceLocation: sourceLocation)
    }
}

extension Vault {
    /// The storage coordinates of a conversation: its tenant's number and the keyed hash of its id.
    func coordinates(tenant: String, conversation: String) throws -> (tenant: UInt32, ck: [UInt8]) {
        let record = try #require(try environment.read { txn in try tenantRecord(tenant, in: txn) })
        let keys = try keys(for: record)
        return (record.number, keys.hash(conversation, domain: "conversation"))
    }

    /// The key of a message in the `messages` database.
    func messageKey(tenant: String, conversation: String, seq: UInt64) throws -> [UInt8] {
        let (number, ck) = try coordinates(tenant: tenant, conversation: conversation)
        return Schema.messageKey(tenant: number, conversation: ck, seq: seq)
    }

    /// The key of a conversation in the `conversations` database.
    func conversationRecordKey(tenant: String, conversation: String) throws -> [UInt8] {
        let (number, ck) = try coordinates(tenant: tenant, conversation: conversation)
        return Schema.conversationKey(tenant: number, conversation: ck)
    }
}
