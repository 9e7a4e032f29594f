import NIOCore
import NIOPosix
import Synchronization
import Testing
import TranscriptTestSupport
@testable import TranscriptServer

/// The writer thread posts append outcomes to an event loop's mailbox and wakes the loop once
/// per batch, as the batch starts (``CompletionMailbox/batchStarting()``), or once it is finished
/// (``CompletionMailbox/batchFinished()``) when something is left.
@Suite("Completion mailbox")
struct CompletionMailboxTests {
    final class Log: Sendable {
        private let entries = Mutex<[(Int, Bool)]>([])
        func add(_ index: Int, onLoop: Bool) { entries.withLock { $0.append((index, onLoop)) } }
        var indices: [Int] { entries.withLock { $0.map(\.0) } }
        var allOnLoop: Bool { entries.withLock { $0.allSatisfy(\.1) } }

        /// Waits (up to 30 s, a hang detector) for `count` entries.
        func wait(for count: Int) async throws {
            _ = try await eventually(within: 30) { indices.count >= count }
        }
    }

    static func withMailbox(_ body: (CompletionMailbox, any EventLoop) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        do {
            try await body(CompletionMailboxes(group: group).mailbox(for: loop), loop)
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    @Test("what is posted waits for the batch's end, then runs on the event loop, in order")
    func runsAfterBatchInOrder() async throws {
        try await Self.withMailbox { mailbox, loop in
            let log = Log()
            for index in 0..<5 { mailbox.post { log.add(index, onLoop: loop.inEventLoop) } }
            try await Task.sleep(for: .milliseconds(100))
            #expect(log.indices.isEmpty, "ran before the batch was finished")
            mailbox.batchFinished()
            try await log.wait(for: 5)
            #expect(log.indices == Array(0..<5))
            #expect(log.allOnLoop, "ran off the event loop")

            // The next batch is delivered too, and a batch without posts runs nothing.
            mailbox.batchFinished()
            mailbox.post { log.add(5, onLoop: loop.inEventLoop) }
            mailbox.post { log.add(6, onLoop: loop.inEventLoop) }
            mailbox.batchFinished()
            try await log.wait(for: 7)
            #expect(log.indices == Array(0..<7))
            #expect(log.allOnLoop)
        }
    }

    @Test("a batch that starts wakes the loop at once: what is posted meanwhile runs before the batch ends, and nothing is lost")
    func startingBatchWakesEarly() async throws {
        try await Self.withMailbox { mailbox, loop in
            let log = Log()
            mailbox.post { log.add(0, onLoop: loop.inEventLoop) }
            mailbox.batchStarting()
            // Delivered while the batch is still open: the loop was woken by its start.
            try await log.wait(for: 1)
            #expect(log.indices == [0])
            mailbox.post { log.add(1, onLoop: loop.inEventLoop) }
            mailbox.post { log.add(2, onLoop: loop.inEventLoop) }
            // Whether the drain still looks (it does for a while) or has given up, these come,
            // at the latest once the batch ends.
            mailbox.batchFinished()
            try await log.wait(for: 3)
            #expect(log.indices == [0, 1, 2])

            // Two batches open at once (a commit on a caller's thread beside the writer's):
            // the first to end does not end the other.
            mailbox.batchStarting()
            mailbox.batchStarting()
            mailbox.batchFinished()
            mailbox.post { log.add(3, onLoop: loop.inEventLoop) }
            mailbox.batchFinished()
            try await log.wait(for: 4)
            #expect(log.indices == [0, 1, 2, 3])
            #expect(log.allOnLoop, "ran off the event loop")
        }
    }

    @Test("a batch that ends without having started leaves later batches' early wake-up intact")
    func unpairedFinishKeepsCount() async throws {
        try await Self.withMailbox { mailbox, loop in
            let log = Log()
            mailbox.batchFinished()
            mailbox.batchFinished()
            mailbox.post { log.add(0, onLoop: loop.inEventLoop) }
            mailbox.batchStarting()
            try await log.wait(for: 1)
            #expect(log.indices == [0])
            #expect(mailbox.openBatchCount == 1, "the unpaired ends took the count below the open batch")
            mailbox.batchFinished()
            #expect(mailbox.openBatchCount == 0)
        }
    }

    @Test("each event loop of the group has its own mailbox, delivering on that loop")
    func oneMailboxPerLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let mailboxes = CompletionMailboxes(group: group)
        let loops = Array(group.makeIterator())
        #expect(loops.count == 2)
        let log = Log()
        for (index, loop) in loops.enumerated() {
            let mailbox = mailboxes.mailbox(for: loop)
            #expect(mailbox === mailboxes.mailbox(for: loop), "a loop's mailbox changed")
            #expect(mailbox.eventLoop === loop)
            mailbox.post { log.add(index, onLoop: loop.inEventLoop) }
            mailbox.batchFinished()
        }
        try await log.wait(for: 2)
        #expect(Set(log.indices) == [0, 1])
        #expect(log.allOnLoop)
        try await group.shutdownGracefully()
    }
}
