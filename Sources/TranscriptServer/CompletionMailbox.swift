internal import NIOCore
import Synchronization
import TranscriptVault

/// Hands the durable outcomes of appends to one event loop, a batch at a time.
///
/// The store's writer thread posts each outcome here and, once the batch's outcomes are all
/// posted, tells the mailbox (``batchFinished()``): the event loop is then woken once for the
/// whole batch. Waking it per append cost the writer thread a wake-up call per append while
/// every caller of the batch waited behind it.
final class CompletionMailbox: WriteBatchObserver, Sendable {
    private struct State {
        var posted: [@Sendable () -> Void] = []
        /// A drain is queued on the event loop and has not yet taken what is posted.
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let state = Mutex(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues `body` to run on the event loop after the current batch; any thread.
    func post(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.posted.append(body) }
    }

    func batchFinished() {
        let schedule = state.withLock { state -> Bool in
            guard !state.posted.isEmpty, !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    /// Runs what was posted, in order, on the event loop.
    private func drain() {
        let bodies = state.withLock { state -> [@Sendable () -> Void] in
            state.scheduled = false
            defer { state.posted.removeAll(keepingCapacity: true) }
            return state.posted
        }
        for body in bodies { body() }
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
