import Foundation
import Testing
import TranscriptStorage
@testable import TranscriptVault
import TranscriptTestSupport

/// The writer thread answers a batch once its redo-log record is flushed and carries its LMDB
/// transaction into the next batch (`Environment.write(carrying:)`): batches that follow one
/// another share LMDB commits, and a read on any other thread still sees every answered append.
@Suite("Batches carried in one LMDB transaction")
struct CarriedBatchTests {
    @Test("64 one-append batches queued back to back share a handful of LMDB commits; every append is stored")
    func batchesShareCommits() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, configure: { $0.durable = true; $0.maxBatch = 1 }) { vault in
                let count = 64
                let gate = try await WriterGate(vault.writer)
                let batchesBefore = vault.writer.batchCount
                let commitsBefore = vault.environment.usage.lastTransactionID
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let result = try await vault.append(AppendRequest(
                                tenant: "acme", conversationID: "c\(index)", messages: [sampleMessage("c", index)]))
                            #expect(result.firstSeq == 1)
                        }
                    }
                    // Every append queued behind the gate, so that the batches follow one another.
                    let deadline = Date().addingTimeInterval(30)
                    while vault.writer.queuedJobs < count && Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
                    #expect(vault.writer.queuedJobs == count)
                    gate.open()
                    try await group.waitForAll()
                }
                try await gate.passed()
                let batches = vault.writer.batchCount - batchesBefore
                let commits = vault.environment.usage.lastTransactionID - commitsBefore
                // The gate's own batch plus one batch an append; at most 16 batches a commit (a
                // checkpoint of the redo log may commit one run of them early).
                #expect(batches == count + 1)
                #expect(commits >= count / 16 && commits < 8, "\(commits) LMDB commits for \(batches) batches")
                for index in 0..<count {
                    #expect(try readAll(vault, tenant: "acme", conversation: "c\(index)").map(\.message) == [sampleMessage("c", index)])
                }
            }
        }
    }

    @Test("8 tasks × 30 appends, each read back on another thread as soon as it is answered, while batches are carried")
    func readsSeeEveryAnsweredAppend() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, configure: { $0.durable = true }) { vault in
                let perTask = 30
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<8 {
                        group.addTask {
                            for index in 0..<perTask {
                                let message = sampleMessage("t\(task)", index)
                                let result = try await vault.append(AppendRequest(
                                    tenant: "acme", conversationID: "t\(task)", messages: [message]))
                                #expect(result.firstSeq == UInt64(index + 1))
                                // A plain thread, as an event loop would read.
                                let stored = try await offload {
                                    try readAll(vault, tenant: "acme", conversation: "t\(task)")
                                }
                                #expect(stored.count == index + 1, "task \(task): append \(index) not visible")
                                #expect(stored.last?.message == message)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test("a store closed right after carried batches were answered holds them all when reopened")
    func closeWithCarriedBatches() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = testConfiguration(dir)
            configuration.durable = true
            try await withVault(configuration, initialize: true) { vault in
                _ = try await vault.createTenant("acme")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<8 {
                        group.addTask {
                            for index in 0..<20 {
                                _ = try await vault.append(AppendRequest(
                                    tenant: "acme", conversationID: "t\(task)", messages: [sampleMessage("t\(task)", index)]))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await withVault(configuration) { vault in
                for task in 0..<8 {
                    let stored = try readAll(vault, tenant: "acme", conversation: "t\(task)")
                    #expect(stored.map(\.message) == (0..<20).map { sampleMessage("t\(task)", $0) })
                }
            }
        }
    }
}
