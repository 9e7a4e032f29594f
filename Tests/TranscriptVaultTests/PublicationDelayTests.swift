import Foundation
import Testing
import TranscriptStorage
@testable import TranscriptVault
import TranscriptTestSupport

/// Once no write is queued, the writer thread waits a little (asleep) before it commits the
/// writes it carries, so that callers that come back late join the carried transaction instead
/// of waiting behind a commit. Anything that needs the carried writes committed wakes it at
/// once: here the delay is an hour, so a missing wake-up hangs the test (and its time limit
/// fails it) instead of passing slowly.
@Suite("The writer's publication delay", .timeLimit(.minutes(2)))
struct PublicationDelayTests {
    /// A vault whose writer waits an hour before committing carried writes on its own.
    private func withLazyPublisher(_ dir: String, durable: Bool = true, _ body: (Vault) async throws -> Void) async throws {
        try await withNewVault(dir, configure: { $0.durable = durable; $0.publicationDelay = 3600 }) { vault in
            // The tenant's creation is carried too: a read publishes it, so that every test
            // starts from a committed store.
            _ = try await offload { try vault.environment.read { _ in 0 } }
            try await body(vault)
        }
    }

    @Test("appends answered while the writer waits stay carried; a read on another thread commits them, once, and sees them", arguments: [true, false])
    func readerWakesTheWriter(durable: Bool) async throws {
        try await withTemporaryDirectory { dir in
            try await withLazyPublisher(dir, durable: durable) { vault in
                let before = vault.environment.usage.lastTransactionID
                let messages = (0..<3).map { sampleMessage("c", $0) }
                for message in messages {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [message]))
                }
                // Each append was answered, and none committed in LMDB: the writer carries them.
                #expect(vault.environment.usage.lastTransactionID == before)
                let stored = try await offload { try readAll(vault, tenant: "acme", conversation: "c") }
                #expect(stored.map(\.message) == messages)
                #expect(vault.environment.usage.lastTransactionID == before + 1, "one commit for the three batches")
            }
        }
    }

    @Test("a copy of the store taken on another thread while the writer waits holds the carried appends")
    func copyWakesTheWriter() async throws {
        try await withTemporaryDirectory { dir in
            try await withLazyPublisher(dir) { vault in
                let before = vault.environment.usage.lastTransactionID
                for index in 0..<3 {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", index)]))
                }
                #expect(vault.environment.usage.lastTransactionID == before)
                let destination = dir + "/copy"
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
                try await offload { try vault.environment.copy(to: destination, compact: false) }
                var options = Environment.Options()
                options.durable = false
                let copy = try Environment(path: destination, databases: Schema.all, options: options)
                #expect(copy.usage.lastTransactionID == before + 1)
                #expect(try copy.read { try $0.entryCount(in: copy[Schema.messages]) } == 3)
            }
        }
    }

    @Test("a flush of the store (sync) while the writer waits commits the carried appends first")
    func syncWakesTheWriter() async throws {
        try await withTemporaryDirectory { dir in
            try await withLazyPublisher(dir) { vault in
                let before = vault.environment.usage.lastTransactionID
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 0)]))
                #expect(vault.environment.usage.lastTransactionID == before)
                try await offload { try vault.environment.sync() }
                #expect(vault.environment.usage.lastTransactionID == before + 1)
            }
        }
    }

    @Test("closing the store while the writer waits commits the carried appends; the store reopens with them", arguments: [true, false])
    func closeWakesTheWriter(durable: Bool) async throws {
        try await withTemporaryDirectory { dir in
            try await withLazyPublisher(dir, durable: durable) { vault in
                for index in 0..<5 {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", index)]))
                }
            }
            var configuration = testConfiguration(dir)
            configuration.durable = durable
            let expected = (0..<5).map { sampleMessage("c", $0) }
            let stored = try await withVault(configuration) { vault in
                try readAll(vault, tenant: "acme", conversation: "c").map(\.message)
            }
            #expect(stored == expected)
        }
    }

    @Test("with the default delay, carried appends are committed without any reader asking")
    func defaultDelayPublishesOnItsOwn() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, configure: { $0.durable = true }) { vault in
                let before = vault.environment.usage.lastTransactionID
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [sampleMessage("c", 0)]))
                // No reader: only the writer's own publication can move the transaction id.
                let deadline = Date().addingTimeInterval(60)
                while vault.environment.usage.lastTransactionID == before && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(1))
                }
                #expect(vault.environment.usage.lastTransactionID > before)
            }
        }
    }
}
