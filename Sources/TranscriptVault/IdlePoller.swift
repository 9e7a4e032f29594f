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
/// while the writer sees concurrent callers. ``make(linger:quotaLimited:beforeSleeping:)``
/// returns `nil` where that time is not free (under a cgroup CPU quota, which it would use up)
/// or where the system refuses the idle class.
final class IdlePoller: Sendable {
    /// How long the thread polls after the last ``keepAwake()``: a few batches' cycles.
    static let defaultLinger: Duration = .milliseconds(2)

    private static let sleeping = 0
    private static let polling = 1
    private static let stopped = 2

    /// `sleeping`, `polling`, or `stopped` (by ``stop()``, also when `SCHED_IDLE` was refused).
    private let state = Atomic<Int>(IdlePoller.sleeping)
    /// Uptime in nanoseconds until which the thread polls.
    private let deadline = Atomic<UInt64>(0)
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled once the thread has named itself and stored its id.
    private let started = DispatchSemaphore(value: 0)
    private let lingerNanoseconds: UInt64
    /// The thread's kernel id (0 if it could not be read), for tests.
    private let threadID = Atomic<Int32>(0)
    /// How many times the thread started polling, for tests.
    private let wakeUps = Atomic<Int>(0)
    /// Called on the thread as it is about to sleep, its deadline passed; tests set it (to call
    /// ``keepAwake()`` at that moment).
    private let beforeSleeping: (@Sendable () -> Void)?

    /// Starts the thread, asleep; `nil` where polling would not be free (see the type's doc).
    /// `quotaLimited` is whether a cgroup CPU quota applies (tests set it), and
    /// `beforeSleeping` a test hook (see the property).
    static func make(
        linger: Duration = defaultLinger, quotaLimited: Bool = CPUQuota.limitsThisProcess(),
        beforeSleeping: (@Sendable () -> Void)? = nil
    ) -> IdlePoller? {
        guard !quotaLimited else { return nil }
        return IdlePoller(linger: linger, beforeSleeping: beforeSleeping)
    }

    /// `nil` when the thread cannot be given the idle class: it would compete with the threads
    /// it is meant to make way for.
    private init?(linger: Duration, beforeSleeping: (@Sendable () -> Void)?) {
        self.beforeSleeping = beforeSleeping
        let (seconds, attoseconds) = linger.components
        lingerNanoseconds = UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
        let thread = Thread { [self] in run() }
        thread.start()
        // The thread is still of the normal class here, so that it gets a processor to start
        // on however busy the machine is; it is given the idle class from this thread, and
        // meanwhile only waits for its first `keepAwake`.
        started.wait()
        var parameters = sched_param()
        parameters.sched_priority = 0
        let tid = threadID.load(ordering: .relaxed)
        guard tid != 0, sched_setscheduler(tid, Self.idlePolicy, &parameters) == 0 else {
            stop()
            return nil
        }
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

    /// Stops the thread; it ends once it next runs. Does not wait for that: of the idle class,
    /// it may not run for a while on a busy machine, and it touches nothing but this object.
    /// Idempotent.
    func stop() {
        state.store(Self.stopped, ordering: .sequentiallyConsistent)
        wake.signal()
    }

    /// Whether the thread is polling now, for tests.
    var isPolling: Bool { state.load(ordering: .sequentiallyConsistent) == Self.polling }

    /// Whether the thread was told to stop (it ends once it next runs), for tests.
    var hasStopped: Bool { state.load(ordering: .sequentiallyConsistent) == Self.stopped }

    /// The number of times the thread started polling, for tests.
    var wakeUpCount: Int { wakeUps.load(ordering: .relaxed) }

    /// The thread's kernel id (0 if it could not be read), for tests.
    var kernelThreadID: Int32 { threadID.load(ordering: .relaxed) }

    private func run() {
        nameCurrentThread("tvault-idlepoll")
        // `/proc/thread-self` links to `PID/task/TID` (Glibc's `gettid` is not visible to Swift).
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
           let tid = link.split(separator: "/").last.flatMap({ Int32($0) }) {
            threadID.store(tid, ordering: .relaxed)
        }
        started.signal()
        // Whether this thread was polling when it last looked: a wake-up is counted when it
        // starts polling, however it got there (`keepAwake` may come before the first look).
        var wasPolling = false
        while true {
            let current = state.load(ordering: .sequentiallyConsistent)
            if current == Self.stopped { return }
            if current == Self.polling {
                if !wasPolling {
                    wasPolling = true
                    wakeUps.add(1, ordering: .relaxed)
                }
                if DispatchTime.now().uptimeNanoseconds < deadline.load(ordering: .sequentiallyConsistent) {
                    // Hands the processor to anything else runnable on it, a writer that polls
                    // there included, instead of holding it for a time slice.
                    sched_yield()
                    continue
                }
                // Asleep unless `keepAwake` moved the deadline meanwhile: it looks at `state`
                // after it stores the deadline, and this thread at the deadline after it
                // stores `state`, so one of the two sees the other.
                beforeSleeping?()
                guard state.compareExchange(expected: Self.polling, desired: Self.sleeping,
                                            ordering: .sequentiallyConsistent).exchanged else { continue }
                wasPolling = false
                if DispatchTime.now().uptimeNanoseconds < deadline.load(ordering: .sequentiallyConsistent),
                   state.compareExchange(expected: Self.sleeping, desired: Self.polling,
                                         ordering: .sequentiallyConsistent).exchanged {
                    continue
                }
            }
            // Sleeping (or a `keepAwake`/`stop` is about to signal): wait for the signal.
            wake.wait()
        }
    }

    /// `SCHED_IDLE` from `<sched.h>`, which Glibc does not export to Swift.
    private static let idlePolicy: Int32 = 5
}
