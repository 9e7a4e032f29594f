import Foundation
import Synchronization
import Testing
@testable import TranscriptVault
import TranscriptTestSupport

/// `enqueueAppend(_:mayCommitHere:)`: a lone caller commits on its own thread; callers that meet
/// one another go through the writer thread. Either way every append is durable once answered,
/// a thread's appends keep their order, and closing waits for a commit in progress. Callers
/// run on plain threads (`offload`), never cooperative ones: a call may block for an fsync.
@Suite("Commits on the calling thread")
struct CallerCommitTests {
    /// Waits for a ticket from a plain thread.
    static func wait(_ ticket: AppendTicket) throws -> AppendResult {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<AppendResult, any Error>?>(nil)
        ticket.whenComplete { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    @Test("a lone caller's append is durable when enqueueAppend returns, and counts as a batch")
    func loneCallerCommitsHere() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let before = vault.writer.batchCount
                let results = try await offload { () -> [AppendResult] in
                    try (1...5).map { index in
                        let ticket = try vault.enqueueAppend(AppendRequest(
                            tenant: "acme", conversationID: "lone", messages: [sampleMessage("l", index)]), mayCommitHere: true)
                        // Committed on this thread: the outcome is known before anyone waits.
                        let known = Mutex(false)
                        ticket.whenComplete { _ in known.withLock { $0 = true } }
                        #expect(known.withLock { $0 }, "append \(index) was handed to the writer thread")
                        return try Self.wait(ticket)
                    }
                }
                #expect(results.map(\.firstSeq) == Array(1...5))
                #expect(vault.writer.batchCount - before == 5)
                #expect(try readAll(vault, tenant: "acme", conversation: "lone").map(\.message) == (1...5).map { sampleMessage("l", $0) })
            }
        }
    }

    @Test("8 threads × 200 appends, each allowed to commit here: all stored, each thread's in order")
    func concurrentCallers() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let threads = 8, perThread = 200
                let outcomes = try await withThrowingTaskGroup(of: (Int, [AppendResult]).self) { group in
                    for thread in 0..<threads {
                        group.addTask {
                            try await offload {
                                // Pipelined: several tickets in flight before the first is awaited.
                                var tickets: [AppendTicket] = []
                                for index in 0..<perThread {
                                    tickets.append(try vault.enqueueAppend(AppendRequest(
                                        tenant: "acme", conversationID: "t\(thread % 4)",
                                        messages: [sampleMessage("t\(thread)", index)]), mayCommitHere: true))
                                    if tickets.count == 4 || index == perThread - 1 {
                                        _ = try tickets.map(Self.wait)
                                        tickets.removeAll()
                                    }
                                }
                                return (thread, try (0..<1).map { _ in try Self.wait(vault.enqueueAppend(AppendRequest(
                                    tenant: "acme", conversationID: "t\(thread % 4)", messages: [sampleMessage("end\(thread)", 0)]),
                                    mayCommitHere: true)) })
                            }
                        }
                    }
                    return try await group.reduce(into: [Int: [AppendResult]]()) { $0[$1.0] = $1.1 }
                }
                #expect(outcomes.count == threads)
                for conversation in 0..<4 {
                    let stored = try readAll(vault, tenant: "acme", conversation: "t\(conversation)")
                    #expect(stored.count == 2 * (perThread + 1))
                    #expect(stored.map(\.seq) == Array(1...UInt64(stored.count)))
                    for thread in [conversation, conversation + 4] {
                        // This thread's messages, in the order the thread sent them.
                        let mine = stored.map(\.message).filter { message in
                            (0..<perThread).contains { sampleMessage("t\(thread)", $0) == message }
                        }
                        #expect(mine == (0..<perThread).map { sampleMessage("t\(thread)", $0) }, "thread \(thread) reordered")
                        let end = try #require(outcomes[thread]?.first)
                        #expect(stored[Int(end.firstSeq) - 1].message == sampleMessage("end\(thread)", 0))
                    }
                }
            }
        }
    }

    /// What the workers of `closeDuringCallerCommits` were told.
    final class AnswerLog: Sendable {
        let answered = Mutex<[String: [UInt64]]>([:])
        let refused = Atomic<Int>(0)
    }

    @Test("closing while callers commit: every answered append is there after reopening, the rest are refused")
    func closeDuringCallerCommits() async throws {
        try await withTemporaryDirectory { dir in
            let log = AnswerLog()
            try await withNewVault(dir) { vault in
                let workers = (0..<4).map { thread in
                    Task {
                        try await offload {
                            // Until the store refuses: the close comes while they run.
                            for index in 0... {
                                do {
                                    let result = try Self.wait(vault.enqueueAppend(AppendRequest(
                                        tenant: "acme", conversationID: "w\(thread)", messages: [sampleMessage("w\(thread)", index)]),
                                        mayCommitHere: true))
                                    log.answered.withLock { $0["w\(thread)", default: []].append(result.firstSeq) }
                                } catch let error as VaultError {
                                    guard case .unavailable = error else { throw error }
                                    log.refused.add(1, ordering: .relaxed)
                                    return
                                }
                            }
                            return
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(150))
                vault.close()
                for worker in workers { try await worker.value }
            }
            #expect(log.refused.load(ordering: .relaxed) == 4, "each worker ends on a refused append")
            try await withVault(testConfiguration(dir)) { vault in
                for (conversation, seqs) in log.answered.withLock({ $0 }) {
                    let stored = try readAll(vault, tenant: "acme", conversation: conversation)
                    #expect(stored.map(\.seq) == seqs, "\(conversation): answered appends missing after reopen")
                }
            }
        }
    }
}
