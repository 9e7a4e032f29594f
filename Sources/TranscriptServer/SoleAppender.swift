import Synchronization

/// Tells whether one connection has been the only one appending lately: only then may its
/// append commit on its event loop, with no hand-off to the writer thread and back.
///
/// With others appending, an event loop that blocks on a commit leaves their requests unread
/// meanwhile, so that each of those commits alone in turn and no batch ever forms: with one
/// event loop and 16 connections that held the server to one append per flush (≈ 1,800 against
/// ≈ 7,800 appends/s through the writer thread).
final class SoleAppender: Sendable {
    /// The connection that appended last.
    private let last = Atomic<UInt>(0)
    /// When (monotonic nanoseconds) a connection other than the one before it last appended.
    private let changedAt = Atomic<UInt64>(0)

    /// How long one connection must have been appending alone.
    let quietNanoseconds: UInt64

    init(quietNanoseconds: UInt64 = 20_000_000) {
        self.quietNanoseconds = quietNanoseconds
    }

    /// Records an append from `connection` and says whether it may commit in place.
    func mayCommitInPlace(_ connection: ObjectIdentifier) -> Bool {
        let now = RateLimiter.monotonicNanoseconds()
        let id = UInt(bitPattern: connection)
        if last.exchange(id, ordering: .relaxed) != id {
            changedAt.store(now, ordering: .relaxed)
            return false
        }
        return now &- changedAt.load(ordering: .relaxed) >= quietNanoseconds
    }
}
