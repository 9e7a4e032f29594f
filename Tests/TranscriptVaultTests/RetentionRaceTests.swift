import Foundation
import Testing
import TranscriptTestSupport
@testable import TranscriptVault

/// The retention sweeper judges expiry in a read snapshot, then deletes in a later write job.
/// A client that appends to an aged conversation in between must not lose its acknowledged
/// append: the conversation is no longer "not updated for N days" (Docs/operations.md).
@Suite("Retention sweep against a concurrent append")
struct RetentionRaceTests {
    static let day: Int64 = 86_400_000

    @Test("an append committed after the sweep's scan is not shredded with the aged conversation")
    func appendAfterScanSurvives() async throws {
        try await withTemporaryDirectory { directory in
            try await withNewVault(directory + "/data") { vault in
                try await vault.setRetention(tenant: "acme", days: 1)
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "aged", messages: [sampleMessage("aged", 1)]))
                // Judged one day after the first append: "aged" is expired by then, but anything
                // updated after this point is not.
                let judgedAt = Clock.nowMilliseconds() + Self.day
                try await Task.sleep(for: .milliseconds(20))

                // Hold the writer, queue the client's append, then let the sweep scan (it sees
                // the old `updated_at`) and queue its delete behind the append.
                let gate = try await WriterGate(vault.writer)
                let append = try vault.enqueueAppend(AppendRequest(
                    tenant: "acme", conversationID: "aged", messages: [sampleMessage("aged", 2)]))
                let sweep = Task { try await vault.sweepRetention(now: judgedAt) }
                // The sweep has scanned once its delete is queued behind the append.
                #expect(try await eventually(within: 30) { vault.writer.queuedJobs == 2 }, "the sweep did not queue its delete")
                gate.open()

                let appended = try await append.value()
                #expect(appended.firstSeq == 2, "the append was acknowledged as seq \(appended.firstSeq)")
                let receipts = try await sweep.value
                #expect(receipts.isEmpty, "the sweep shredded \(receipts.first?.conversations ?? 0) conversation(s) updated after its judgement time")
                // The acknowledged append, and the conversation it revived, are still there.
                let messages = try? readAll(vault, tenant: "acme", conversation: "aged")
                #expect(messages?.map(\.seq) == [1, 2], "the conversation reads \(messages.map { "\($0.count) messages" } ?? "not found")")
            }
        }
    }
}
