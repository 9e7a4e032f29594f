import NIOCore
import NIOPosix
import Synchronization
import Testing
import TranscriptTestSupport
@testable import TranscriptServer

/// The writer thread posts append outcomes to an event loop's mailbox and wakes the loop once
/// per batch (``CompletionMailbox/batchFinished()``).
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
