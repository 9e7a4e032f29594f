internal import NIOCore
import Synchronization

/// The live connections of a server, so that a graceful shutdown can drain each one.
final class ConnectionRegistry: Sendable {
    /// A handler for the listening channel: counts each accepted connection (`accepted`)
    /// before it is set up.
    final class AcceptCounter: ChannelInboundHandler, Sendable {
        typealias InboundIn = any Channel
        typealias InboundOut = any Channel

        let registry: ConnectionRegistry
        init(registry: ConnectionRegistry) { self.registry = registry }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            registry.accepted(unwrapInboundIn(data))
            context.fireChannelRead(data)
        }
    }

    /// One connection's shared state.
    final class Entry: Sendable {
        let channel: any Channel
        /// Requests read whose responses are not yet handed to the kernel.
        let inFlight = Atomic<Int>(0)
        let draining = Atomic<Bool>(false)
        /// Whether requests read but not yet counted in `inFlight` wait (an admin connection's
        /// frames queued for its task): the connection owes their answers too.
        private let waiting: (@Sendable () -> Bool)?

        init(channel: any Channel, waiting: (@Sendable () -> Bool)? = nil) {
            self.channel = channel
            self.waiting = waiting
        }

        /// Closes the connection once it owes no response.
        func closeIfIdle() {
            // Sequentially consistent, here and in `drainAll`: each side stores, then loads
            // what the other stores, and neither load may be ordered before its own store.
            if draining.load(ordering: .sequentiallyConsistent) && inFlight.load(ordering: .sequentiallyConsistent) == 0
                && !(waiting?() ?? false) {
                // A close drops writes not yet handed to the kernel: close once an empty write,
                // queued after every answer, has gone out (a client reading slowly gets them all).
                let channel = channel
                channel.writeAndFlush(ByteBuffer()).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Connections accepted (see `accepted`) and not yet closed.
        var accepted: [ObjectIdentifier: any Channel] = [:]
        /// Callers of `waitUntilEmpty`, resumed when the last connection goes.
        var waiters: [CheckedContinuation<Void, Never>] = []

        var isEmpty: Bool { entries.isEmpty && accepted.isEmpty }

        /// The waiters to resume if the last connection just went.
        mutating func takeWaitersIfEmpty() -> [CheckedContinuation<Void, Never>] {
            guard isEmpty else { return [] }
            defer { waiters = [] }
            return waiters
        }
    }

    private let state = Mutex(State())
    private let draining = Atomic<Bool>(false)

    /// Counts a connection the moment the listener accepts it, until it closes, so that
    /// `waitUntilEmpty` also waits for one accepted just before the listener closed but set up
    /// on its event loop only after the drain began (it is then refused and closed; were the
    /// event loops shut down first, it would be left open).
    func accepted(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.accepted[id] = channel }
        channel.closeFuture.whenComplete { _ in
            let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.accepted.removeValue(forKey: id)
                return state.takeWaitersIfEmpty()
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Closes every accepted connection that is still open: for the admin listener, once no
    /// task serves its connections any more, the ones it accepted but never handed out.
    func closeAccepted() {
        let open = state.withLock { Array($0.accepted.values) }
        for channel in open { channel.close(promise: nil) }
    }

    /// Whether a shutdown has begun (`drainAll`): what `add` refuses then.
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Registers a connection; returns `nil` when over `limit` or draining. `waiting` says
    /// whether requests it has read wait outside `inFlight` (see ``Entry``).
    func add(_ channel: any Channel, limit: Int, waiting: (@Sendable () -> Bool)? = nil) -> Entry? {
        let entry = Entry(channel: channel, waiting: waiting)
        let added = state.withLock { state -> Bool in
            guard state.entries.count < limit, !draining.load(ordering: .acquiring) else { return false }
            state.entries[ObjectIdentifier(entry)] = entry
            return true
        }
        return added ? entry : nil
    }

    func remove(_ entry: Entry) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.entries.removeValue(forKey: ObjectIdentifier(entry))
            return state.takeWaitersIfEmpty()
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// The requests the registered connections owe answers to, all told (for tests).
    var requestsInFlight: Int {
        state.withLock { $0.entries.values.reduce(0) { $0 + $1.inFlight.load(ordering: .sequentiallyConsistent) } }
    }

    /// The registered connections' channels.
    var channels: [any Channel] { state.withLock { $0.entries.values.map(\.channel) } }

    /// Returns once no connection is registered or accepted and still open.
    func waitUntilEmpty() async {
        await withCheckedContinuation { continuation in
            let empty = state.withLock { state -> Bool in
                if state.isEmpty { return true }
                state.waiters.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
    }

    /// Returns once no connection is left, closing those still open after `grace`.
    func waitUntilEmpty(closingAfter grace: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            // Either empty (the sleep is cancelled) or the grace is over: close what is left.
            group.cancelAll()
            closeAll()
        }
    }

    /// Closes every connection now, answers owed or not.
    func closeAll() {
        let channels = state.withLock { state in state.entries.values.map(\.channel) + Array(state.accepted.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Marks every connection as draining and closes those that owe nothing.
    func drainAll() {
        draining.store(true, ordering: .releasing)
        let all = state.withLock { Array($0.entries.values) }
        for entry in all {
            entry.draining.store(true, ordering: .sequentiallyConsistent)
            entry.closeIfIdle()
        }
    }
}
