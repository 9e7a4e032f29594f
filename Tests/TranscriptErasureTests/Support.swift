import Foundation
import Glibc
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault

// Helpers shared by the erasure tests: scratch directories, vault lifetimes, canary content,
// copies of the store, and (through @testable internals) the raw bytes of keys, so that tests
// can look for them in files and compare them with what an attacker recovers.

/// A fresh directory under the system temporary directory, removed when the body is done.
func withScratchDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("tvault-erasure-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Key-file unlock (fast), no fsync: these tests kill no process of their own; the crash tests
/// run the child with durable commits.
func erasureConfiguration(_ directory: String) -> Vault.Configuration {
    var configuration = Vault.Configuration(dataDirectory: directory)
    configuration.durable = false
    configuration.initialMapSize = 8 << 20
    return configuration
}

/// Opens (or initialises) a vault, runs `body`, closes it, and checks the directory was released.
func withErasureVault<R>(
    _ directory: String, initialize: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Vault) async throws -> R
) async throws -> R {
    let result = try await scoped(erasureConfiguration(directory), initialize: initialize, body)
    try #require(!DirectoryLock.isHeld(path: DataDirectory(path: directory).lockFile),
                 "the vault was not released", sourceLocation: sourceLocation)
    return result
}

private func scoped<R>(_ configuration: Vault.Configuration, initialize: Bool, _ body: (Vault) async throws -> R) async throws -> R {
    let vault = initialize ? try Vault.initialize(configuration) : try Vault.open(configuration)
    defer { vault.close() }
    return try await body(vault)
}

func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A random lowercase token, so that canaries are unique to one run.
func token(_ count: Int = 12) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<count).map { _ in alphabet.randomElement()! })
}

/// A conversation the tests write and later expect (or expect not) to read back.
struct Fixture: Sendable, Hashable {
    var tenant: String
    var id: String
    var subject: String?
    var messages: [[UInt8]]
    var metadata: [UInt8]?

    /// Every client-supplied string of the conversation: its id, subject and message texts.
    var canaries: [String] {
        [id] + (subject.map { [$0] } ?? []) + messages.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A conversation whose every identifier and message holds a fresh random canary.
    static func canary(tenant: String, label: String, subject: String? = nil, messages count: Int = 3) -> Fixture {
        let tag = "\(label)-\(token())"
        return Fixture(
            tenant: tenant, id: "conv-\(tag)", subject: subject,
            messages: (0..<count).map { utf8(#"{"role":"user","content":"canary-\#(tag)-msg-\#($0)-\#(token(16))"}"#) },
            metadata: utf8(#"{"note":"meta-\#(tag)"}"#))
    }
}

extension Fixture {
    /// The appends that store the fixture: the first message with subject and metadata, then
    /// the others; each with an idempotency key, so that its idempotency record exists too.
    var appends: [AppendRequest] {
        var requests = [AppendRequest(
            tenant: tenant, conversationID: id, messages: [messages[0]],
            subjectID: subject, format: "test.chat", metadata: metadata, idempotencyKey: "first-\(id)")]
        if messages.count > 1 {
            requests.append(AppendRequest(
                tenant: tenant, conversationID: id, messages: Array(messages[1...]), idempotencyKey: "rest-\(id)"))
        }
        return requests
    }
}

extension Vault {
    /// Appends the fixture's messages (see ``Fixture/appends``).
    func store(_ fixture: Fixture) async throws {
        for request in fixture.appends { _ = try await append(request) }
    }

    /// Every message of a conversation, following pages to the end.
    func readAll(tenant: String, conversation: String) throws -> [StoredMessage] {
        var messages: [StoredMessage] = []
        var after: UInt64 = 0
        while true {
            let page = try read(tenant: tenant, conversationID: conversation, afterSeq: after, limit: 1000)
            messages += page.messages
            guard let next = page.nextAfterSeq else { return messages }
            after = next
        }
    }

    /// Expects the fixture to read back byte-exact through the public API.
    func expectIntact(_ fixture: Fixture, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let stored = try readAll(tenant: fixture.tenant, conversation: fixture.id)
            #expect(stored.map(\.message) == fixture.messages, "\(fixture.id) has other content", sourceLocation: sourceLocation)
            #expect(stored.map(\.seq) == (1...UInt64(fixture.messages.count)).map { $0 }, sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(fixture.tenant)/\(fixture.id) does not read: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Expects reading the fixture to fail with `notFound`.
    func expectGone(_ fixture: Fixture, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try read(tenant: fixture.tenant, conversationID: fixture.id)
            Issue.record("\(fixture.id) still reads after its shred", sourceLocation: sourceLocation)
        } catch VaultError.notFound {
        } catch {
            Issue.record("\(fixture.id): expected notFound, got \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Key material, through internals (tests only)

    /// The raw bytes of a conversation's DEK.
    func dekBytes(tenant: String, conversation: String) throws -> [UInt8] {
        try environment.read { txn in
            let record = try #require(try tenantRecord(tenant, in: txn))
            let keys = try keys(for: record)
            let ck = keys.hash(conversation, domain: "conversation")
            let stored = try #require(try txn.withValue(
                in: db.conversations, forKey: Schema.conversationKey(tenant: record.number, conversation: ck),
                { try ConversationRecord(decoding: $0) }))
            let box = try dataKey(tenant: keys, conversation: ck, record: stored)
            return box.key.withUnsafeBytes { Array($0) }
        }
    }

    /// The tenant's stored record.
    func tenantRecordNow(_ tenant: String) throws -> TenantRecord {
        try #require(try environment.read { try tenantRecord(tenant, in: $0) })
    }

    /// The raw bytes of each of the tenant's KEK versions, and of its index key.
    func tenantKeyBytes(_ tenant: String) throws -> (keks: [UInt32: [UInt8]], index: [UInt8]) {
        let keys = try keys(forAnyState: try tenantRecordNow(tenant))
        return (keys.keks.mapValues { box in box.key.withUnsafeBytes { Array($0) } },
                keys.indexKey.key.withUnsafeBytes { Array($0) })
    }

    /// The current root epoch and the raw bytes of its key.
    func rootBytes() throws -> (epoch: UInt64, key: [UInt8]) {
        let (epoch, box) = try currentRoot()
        return (epoch, box.key.withUnsafeBytes { Array($0) })
    }

    /// The keyed hash under which a conversation id is stored.
    func conversationHash(tenant: String, conversation: String) throws -> (number: UInt32, ck: [UInt8]) {
        let record = try tenantRecordNow(tenant)
        let keys = try keys(forAnyState: record)
        return (record.number, keys.hash(conversation, domain: "conversation"))
    }

    /// The KEK version a conversation's DEK is wrapped under.
    func kekVersion(tenant: String, conversation: String) throws -> UInt32 {
        let (number, ck) = try conversationHash(tenant: tenant, conversation: conversation)
        return try #require(try environment.read { txn in
            try txn.withValue(in: db.conversations, forKey: Schema.conversationKey(tenant: number, conversation: ck)) {
                try ConversationRecord(decoding: $0).kekVersion
            }
        })
    }

    /// Every receipt id in the store.
    func allReceiptIDs() throws -> [String] {
        try environment.read { txn in
            try txn.withCursor(db.receipts) { cursor in
                var ids: [String] = []
                var entry = try cursor.first()
                while let current = entry {
                    ids.append(Hex.encode(Array(current.key)))
                    entry = try cursor.next()
                }
                return ids
            }
        }
    }

    /// The number of entries in `database` whose key starts with the tenant's number.
    func entries(of tenant: UInt32, in database: String) throws -> Int {
        try environment.read { txn in
            try txn.withCursor(environment[database]) { cursor in
                let prefix = Array.bigEndian(tenant)
                var count = 0
                var entry = try cursor.seek(atLeast: prefix)
                while let current = entry, current.key.hasPrefix(prefix) {
                    count += 1
                    entry = try cursor.next()
                }
                return count
            }
        }
    }
}

/// Copies of a store's LMDB files taken over time, as a backup job or a thief would take them:
/// each snapshot is both a consistent `mdb_env_copy2` copy and a raw copy of `data.mdb`'s bytes
/// (which also carries free pages, with whatever old versions of records they still hold).
final class StoreCopies: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `state` is touched only under `lock`.
    let root: String
    private let lock = NSLock()
    private var state: (directories: [String], counter: Int) = ([], 0)

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Every copy directory taken so far.
    var directories: [String] { lock.withLock { state.directories } }

    private func nextName(_ label: String) -> String {
        lock.withLock {
            state.counter += 1
            return "\(root)/\(state.counter)-\(label)"
        }
    }

    private func record(_ directory: String) { lock.withLock { state.directories.append(directory) } }

    /// Takes both kinds of copy of the vault's store now. Call when no write is in flight for
    /// the raw copy to be a consistent file (the consistent copy is consistent regardless).
    func take(_ vault: Vault, _ label: String) throws {
        try takeConsistent(vault, label)
        let raw = nextName(label) + "-raw"
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: vault.dataDirectory.store + "/data.mdb", toPath: raw + "/data.mdb")
        record(raw)
    }

    /// A consistent copy only (safe while writers run).
    func takeConsistent(_ vault: Vault, _ label: String) throws {
        let consistent = nextName(label) + "-copy"
        try FileManager.default.createDirectory(atPath: consistent, withIntermediateDirectories: false)
        try vault.environment.copy(to: consistent, compact: false)
        record(consistent)
    }
}

/// A value shared between tasks, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `value` is touched only under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try lock.withLock { try body(&value) }
    }

    var current: Value { withLock { $0 } }
}

/// A key in guarded memory holding `bytes` (32 of them).
func keyBox(_ bytes: [UInt8]) throws -> KeyBox {
    KeyBox(try SecretKey(filling: { out in
        guard bytes.count == SecretKey.byteCount else { throw CryptoError.invalidLength }
        bytes.withUnsafeBytes { out.copyMemory(from: $0) }
    }))
}

/// Every regular file under `directory`, recursively.
func filesUnder(_ directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    var files: [String] = []
    while let relative = enumerator.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files.append(path)
        }
    }
    return files
}

func fileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Whether `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    haystack.withUnsafeBytes { !search(needle, in: $0, all: false).isEmpty }
}

/// Every offset at which `needle` occurs in `haystack`.
func offsets(of needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> [Int] {
    search(needle, in: haystack, all: true)
}

/// A byte search anchored on the needle's first non-zero byte (`memchr`, then `memcmp`), so
/// that the zero-filled stretches of LMDB pages cost little.
private func search(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, all: Bool) -> [Int] {
    guard !needle.isEmpty, let base = haystack.baseAddress, haystack.count >= needle.count else { return [] }
    let anchor = needle.firstIndex { $0 != 0 } ?? 0
    let anchorByte = Int32(needle[anchor])
    let lastStart = haystack.count - needle.count
    var found: [Int] = []
    needle.withUnsafeBytes { pin in
        var position = anchor
        while position <= lastStart + anchor {
            guard let hit = memchr(base + position, anchorByte, lastStart + anchor - position + 1) else { break }
            let at = base.distance(to: UnsafeRawPointer(hit))
            let start = at - anchor
            if memcmp(base + start, pin.baseAddress!, needle.count) == 0 {
                found.append(start)
                if !all { return }
            }
            position = at + 1
        }
    }
    return found
}
