import Foundation
import Synchronization
internal import TranscriptStorage

/// A thread of the lowest scheduling class (`SCHED_IDLE`) that keeps one processor polling
/// while concurrent writes are in flight, instead of letting it halt.
///
/// While a batch is flushed, every thread serving its callers sleeps. On a virtual machine an
/// idle processor halts, and a thread woken on it (the event loop that answers the batch, the
/// writer that the flush's completion wakes) waits tens of microseconds for the hypervisor to
/// run that processor again: on every batch's critical path. This thread runs only when its
/// processor has nothing else to run (the scheduler lets any other thread preempt it at once,
/// and counts its processor as idle when it places a woken thread), so the processor stays
/// awake and a thread woken onto it starts at once.
///
/// It polls from ``keepAwake()`` until its linger has passed without another call, then
/// sleeps until the next. It costs the processor time that would otherwise be idle, and only
/// while the writer sees concurrent callers. ``make(linger:quotaLimited:)`` returns `nil` where
/// that time is not free (under a cgroup CPU quota, which it would use up); where the system
/// refuses the idle class, the thread ends at once and never polls.
final class IdlePoller: Sendable {
    /// How long the thread polls after the last ``keepAwake()``: a few batches' cycles.
    static let defaultLinger: Duration = .milliseconds(2)

    private static let sleeping = 0
    private static let polling = 1
    private static let stopped = 2

    /// `sleeping`, `polling`, or `stopped` (by ``stop()``, or because `SCHED_IDLE` was refused).
    private let state = Atomic<Int>(IdlePoller.sleeping)
    /// Uptime in nanoseconds until which the thread polls.
    private let deadline = Atomic<UInt64>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)
    private let lingerNanoseconds: UInt64
    /// The thread's kernel id, once it runs (0 before), for tests.
    private let threadID = Atomic<Int32>(0)
    /// How many times the thread went from sleeping to polling, for tests.
    private let wakeUps = Atomic<Int>(0)

    /// Starts the thread, asleep; `nil` where polling would not be free (see the type's doc).
    /// `quotaLimited` is whether a cgroup CPU quota applies (tests set it).
    static func make(linger: Duration = defaultLinger, quotaLimited: Bool = CPUQuota.limitsThisProcess()) -> IdlePoller? {
        #if os(Linux)
        guard !quotaLimited else { return nil }
        return IdlePoller(linger: linger)
        #else
        return nil
        #endif
    }

    private init(linger: Duration) {
        let (seconds, attoseconds) = linger.components
        lingerNanoseconds = UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
        let thread = Thread { [self] in run() }
        thread.start()
    }

    /// Makes the thread poll until the linger has passed from now. Costs a system call only when it was
    /// asleep.
    func keepAwake() {
        deadline.store(DispatchTime.now().uptimeNanoseconds &+ lingerNanoseconds, ordering: .sequentiallyConsistent)
        if state.load(ordering: .sequentiallyConsistent) == Self.sleeping,
           state.compareExchange(expected: Self.sleeping, desired: Self.polling, ordering: .sequentiallyConsistent).exchanged {
            wake.signal()
        }
    }

    /// Stops the thread and waits until it has ended. Idempotent.
    func stop() {
        state.store(Self.stopped, ordering: .sequentiallyConsistent)
        wake.signal()
        ended.wait()
        // Later calls return at once.
        ended.signal()
    }

    /// Whether the thread is polling now, for tests.
    var isPolling: Bool { state.load(ordering: .sequentiallyConsistent) == Self.polling }

    /// Whether the thread has ended (stopped, or refused its scheduling class), for tests.
    var hasStopped: Bool { state.load(ordering: .sequentiallyConsistent) == Self.stopped }

    /// The number of times the thread started polling, for tests.
    var wakeUpCount: Int { wakeUps.load(ordering: .relaxed) }

    /// The thread's kernel id, or 0 before it has started, for tests.
    var kernelThreadID: Int32 { threadID.load(ordering: .relaxed) }

    private func run() {
        defer { ended.signal() }
        nameCurrentThread("tvault-idlepoll")
        #if os(Linux)
        // `/proc/thread-self` links to `PID/task/TID` (Glibc's `gettid` is not visible to Swift).
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
           let tid = link.split(separator: "/").last.flatMap({ Int32($0) }) {
            threadID.store(tid, ordering: .relaxed)
        }
        var parameters = sched_param()
        parameters.sched_priority = 0
        // Without the idle class this thread would compete with the ones it is meant to make
        // way for: it does not poll at all then.
        guard sched_setscheduler(0, Self.idlePolicy, &parameters) == 0 else {
            state.store(Self.stopped, ordering: .sequentiallyConsistent)
            return
        }
        #endif
        while true {
            let current = state.load(ordering: .sequentiallyConsistent)
            if current == Self.stopped { return }
            if current == Self.polling {
                if DispatchTime.now().uptimeNanoseconds < deadline.load(ordering: .sequentiallyConsistent) {
                    // Hands the processor to anything else runnable on it, a writer that polls
                    // there included, instead of holding it for a time slice.
                    sched_yield()
                    continue
                }
                // Asleep unless `keepAwake` moved the deadline meanwhile: it looks at `state`
                // after it stores the deadline, and this thread at the deadline after it
                // stores `state`, so one of the two sees the other.
                guard state.compareExchange(expected: Self.polling, desired: Self.sleeping,
                                            ordering: .sequentiallyConsistent).exchanged else { continue }
                if DispatchTime.now().uptimeNanoseconds < deadline.load(ordering: .sequentiallyConsistent),
                   state.compareExchange(expected: Self.sleeping, desired: Self.polling,
                                         ordering: .sequentiallyConsistent).exchanged {
                    continue
                }
            }
            // Sleeping (or a `keepAwake`/`stop` is about to signal): wait for the signal.
            wake.wait()
            if state.load(ordering: .sequentiallyConsistent) == Self.polling {
                wakeUps.add(1, ordering: .relaxed)
            }
        }
    }

    #if os(Linux)
    /// `SCHED_IDLE` from `<sched.h>`, which Glibc does not export to Swift.
    private static let idlePolicy: Int32 = 5
    #endif
}
