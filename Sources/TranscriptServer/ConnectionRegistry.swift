internal import NIOCore
import Synchronization

/// The live connections of a server, so that a graceful shutdown can drain each one.
final class ConnectionRegistry: Sendable {
    /// One connection's shared state.
    final class Entry: Sendable {
        let channel: any Channel
        /// Requests read whose responses are not yet handed to the kernel.
        let inFlight = Atomic<Int>(0)
        let draining = Atomic<Bool>(false)

        init(channel: any Channel) { self.channel = channel }

        /// Closes the connection once it owes no response.
        func closeIfIdle() {
            // Sequentially consistent, here and in `drainAll`: each side stores, then loads
            // what the other stores, and neither load may be ordered before its own store.
            if draining.load(ordering: .sequentiallyConsistent) && inFlight.load(ordering: .sequentiallyConsistent) == 0 {
                // A close drops writes not yet handed to the kernel: close once an empty write,
                // queued after every answer, has gone out (a client reading slowly gets them all).
                let channel = channel
                channel.writeAndFlush(ByteBuffer()).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Callers of `waitUntilEmpty`, resumed when the last connection goes.
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let draining = Atomic<Bool>(false)

    /// Registers a connection; returns `nil` when over `limit` or draining.
    func add(_ channel: any Channel, limit: Int) -> Entry? {
        let entry = Entry(channel: channel)
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
            guard state.entries.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Returns once no connection is registered.
    func waitUntilEmpty() async {
        await withCheckedContinuation { continuation in
            let empty = state.withLock { state -> Bool in
                if state.entries.isEmpty { return true }
                state.waiters.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
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
