internal import NIOCore
import Dispatch
import Glibc
import Synchronization
import TranscriptVault

/// Hands the durable outcomes of appends to one event loop, a batch at a time.
///
/// The store's writer thread posts each outcome here and, once the batch's outcomes are all
/// posted, tells the mailbox (``batchFinished()``): the event loop is then woken once for the
/// whole batch. Waking it per append cost the writer thread a wake-up call per append while
/// every caller of the batch waited behind it.
///
/// The event loop is woken as the writer starts posting (``batchStarting()``), not after: a
/// sleeping loop takes tens of microseconds to run once woken (more on a virtual machine whose
/// idle processor halts), and posting a batch of 16 outcomes about 25 µs, which the wake-up
/// then overlaps. A drain that finds the batch still being posted takes what is there and
/// looks again, yielding the processor meanwhile, for at most ``openBatchWait``; what is
/// posted after it gives up is drained after ``batchFinished()``.
final class CompletionMailbox: WriteBatchObserver, Sendable {
    private struct State {
        var posted: [@Sendable () -> Void] = []
        /// A drain is queued on the event loop and has not yet taken what is posted.
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let state = Mutex(State())
    /// Batches started (``batchStarting()``) and not yet finished: their posting goes on.
    private let openBatches = Atomic<Int>(0)

    /// Batches started and not finished, for tests.
    var openBatchCount: Int { openBatches.load(ordering: .sequentiallyConsistent) }

    /// The longest a drain waits for a batch being posted, in nanoseconds.
    static let openBatchWait: UInt64 = 100_000

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues `body` to run on the event loop after the current batch; any thread.
    func post(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.posted.append(body) }
    }

    func batchStarting() {
        openBatches.add(1, ordering: .sequentiallyConsistent)
        schedule(evenIfEmpty: true)
    }

    func batchFinished() {
        // Never below zero, should a batch finish that did not start.
        var open = openBatches.load(ordering: .sequentiallyConsistent)
        while open > 0 {
            let (exchanged, found) = openBatches.compareExchange(
                expected: open, desired: open - 1, ordering: .sequentiallyConsistent)
            if exchanged { break }
            open = found
        }
        schedule(evenIfEmpty: false)
    }

    /// Queues a drain on the event loop unless one is queued already.
    private func schedule(evenIfEmpty: Bool) {
        let schedule = state.withLock { state -> Bool in
            guard evenIfEmpty || !state.posted.isEmpty, !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    /// Runs what was posted, in order, on the event loop, and what is posted meanwhile while a
    /// batch is being posted (for at most ``openBatchWait``).
    private func drain() {
        let deadline = DispatchTime.now().uptimeNanoseconds + Self.openBatchWait
        while true {
            // Read before taking what is posted: a batch seen finished here has posted it all.
            let open = openBatches.load(ordering: .sequentiallyConsistent) > 0
            let waiting = open && DispatchTime.now().uptimeNanoseconds < deadline
            let bodies = state.withLock { state -> [@Sendable () -> Void] in
                // Once this drain stops looking, a later post is drained after its batch ends.
                if !waiting { state.scheduled = false }
                defer { state.posted.removeAll(keepingCapacity: true) }
                return state.posted
            }
            for body in bodies { body() }
            guard waiting else { return }
            if bodies.isEmpty { sched_yield() }
        }
    }
}

/// One ``CompletionMailbox`` per event loop of a group, made up front.
struct CompletionMailboxes: Sendable {
    private let mailboxes: [ObjectIdentifier: CompletionMailbox]

    init(group: any EventLoopGroup) {
        var mailboxes: [ObjectIdentifier: CompletionMailbox] = [:]
        for eventLoop in group.makeIterator() {
            mailboxes[ObjectIdentifier(eventLoop)] = CompletionMailbox(eventLoop: eventLoop)
        }
        self.mailboxes = mailboxes
    }

    /// The mailbox of `eventLoop`, or a new one for a loop outside the group.
    func mailbox(for eventLoop: any EventLoop) -> CompletionMailbox {
        mailboxes[ObjectIdentifier(eventLoop)] ?? CompletionMailbox(eventLoop: eventLoop)
    }
}
