import Foundation
import Synchronization
internal import TranscriptStorage

/// The single owner of every LMDB write transaction: a dedicated thread that batches the jobs
/// submitted meanwhile into one transaction and one fsync (group commit). One batch commits at a
/// time, on that thread or, for a lone caller that allows it, on the caller's (see `enqueue`).
///
/// Each caller is resumed only after its batch has committed durably. A job's body runs
/// synchronously on the committing thread and must compute everything from the transaction and
/// its inputs, because a batch that fills the map is run again after the map grows.
///
/// A job that throws a domain error is dropped from the batch while the others commit:
/// isolated jobs run in a nested transaction; non-isolated jobs (the hot path: appends) promise
/// to throw only before their first write.
final class Writer: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `pending`, `closed`, `wakeAt`, `committing`,
    // `carrying` and `expected` are touched only with `condition` locked; `batchCount` only by
    // the thread that set `committing`; everything else is immutable after init.

    private let environment: Environment
    private let condition = NSCondition()
    private var pending: [any WriteJob] = []
    /// `pending.count`, readable without the lock (see `poll`).
    private let queuedCount = Atomic<Int>(0)
    private var closed = false
    /// The queue length at which a submission wakes the writer thread: 1 while it sleeps
    /// waiting for work, `Int.max` while it commits or polls (it looks again after).
    private var wakeAt = 1
    /// A batch is being committed (by the writer thread or by a caller, see `enqueue`).
    private var committing = false
    /// The writer thread holds durable writes carried in an open LMDB transaction (see
    /// ``Environment/write(carrying:_:)``): no caller may commit on its own thread meanwhile,
    /// and the writer thread publishes them before it sleeps.
    private var carrying = false
    /// How many callers the next batch should wait for: those of the last batch (most of them
    /// come back with their next write) plus the others that queued while it committed (counted
    /// before the batch's callers are resumed, so that one that comes back at once is not
    /// counted twice: a lone caller would then make every batch wait out the window).
    private var expected = 0
    private let finished = DispatchSemaphore(value: 0)
    /// Keeps a processor from halting while concurrent callers are served (see ``IdlePoller``),
    /// stopped by `close`; `nil` when turned off or not available.
    let idlePoller: IdlePoller?
    private let maxBatch: Int
    /// How long a batch may wait for more callers once concurrency has been seen, in nanoseconds.
    private let gatherWindow: UInt64
    /// Batches committed, for tests and statistics.
    private(set) nonisolated(unsafe) var batchCount = 0
    /// Jobs queued and not yet taken into a batch, for tests.
    var queuedJobs: Int { queuedCount.load(ordering: .relaxed) }

    /// The gather window's default: a fraction of a flush.
    static let defaultGatherWindow: TimeInterval = 0.000_25
    /// How long the thread looks out for the next write, awake, once a batch of concurrent
    /// callers has been answered (about one client round trip), in nanoseconds.
    static let pollWindow: UInt64 = 300_000
    /// How long the thread then waits for the next write, asleep, before it commits the writes
    /// it carries, in seconds: callers that come back late (on a busy machine, one batch in
    /// five here) find the writes still carried, instead of waiting behind a commit and its
    /// write-back that their own batch would have joined. A reader that waits for the carried
    /// writes wakes the thread at once (``Environment/onPublicationRequested``).
    static let defaultPublicationDelay: TimeInterval = 0.002
    private let publicationDelay: TimeInterval

    init(environment: Environment, maxBatch: Int, gatherWindow: TimeInterval = Writer.defaultGatherWindow,
         publicationDelay: TimeInterval = Writer.defaultPublicationDelay, idlePoller: IdlePoller? = nil) {
        self.environment = environment
        self.idlePoller = idlePoller
        self.publicationDelay = max(publicationDelay, 0)
        self.maxBatch = max(maxBatch, 1)
        self.gatherWindow = UInt64(max(gatherWindow, 0) * 1e9)
        // The condition alone, not the writer: the environment may outlive it.
        let condition = condition
        environment.onPublicationRequested = {
            condition.lock()
            condition.signal()
            condition.unlock()
        }
        let thread = Thread { [unowned self] in
            nameCurrentThread("tvault-writer")
            self.loop()
        }
        thread.start()
    }

    /// Runs `body` in the next batch and returns its result once the batch is durable.
    func submit<T: Sendable>(isolated: Bool = true, _ body: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await enqueue(isolated: isolated, body).value()
    }

    /// Queues `body` now, in call order, and returns a ticket for its durable result.
    ///
    /// Jobs run in the order they were queued, so two calls from one thread are committed in
    /// that order even if their results are awaited later.
    ///
    /// With `mayCommitHere`, a job arriving while the store is idle and has seen no concurrent
    /// writer lately is committed at once on the calling thread, which blocks for the fsync:
    /// a lone client's write then costs no hand-off to the writer thread and back. Only for
    /// callers that may block (not Swift concurrency's cooperative threads).
    func enqueue<T: Sendable>(
        isolated: Bool = true, mayCommitHere: Bool = false, _ body: @escaping @Sendable (WriteTransaction) throws -> T
    ) -> WriteTicket<T> {
        let job = Job(isolated: isolated, body: body)
        condition.lock()
        if closed {
            condition.unlock()
            job.finish(failure: VaultError.unavailable("the store is shutting down"))
            return WriteTicket(job: job)
        }
        if mayCommitHere && !committing && !carrying && pending.isEmpty && expected <= 1 {
            commit([job])
            // Callers that queued meanwhile are the writer thread's (it waits while we commit).
            if !pending.isEmpty || closed { condition.signal() }
            condition.unlock()
            return WriteTicket(job: job)
        }
        pending.append(job)
        queuedCount.store(pending.count, ordering: .relaxed)
        // Each needless wake-up is a futex call and a context switch on the submitting thread.
        if pending.count >= wakeAt { condition.signal() }
        condition.unlock()
        return WriteTicket(job: job)
    }

    /// Finishes every job already submitted, then stops the thread. Later submissions fail.
    func close() {
        condition.lock()
        let wasClosed = closed
        closed = true
        condition.broadcast()
        condition.unlock()
        if !wasClosed { finished.wait() }
        idlePoller?.stop()
    }

    private func loop() {
        condition.lock()
        // Waited out `publicationDelay` since the last batch.
        var delayed = false
        while true {
            if expected > 1 && pending.isEmpty && !committing && !closed && !delayed {
                // Concurrent callers are about to come back with their next write: look out for
                // them awake, so that none of them pays for waking this thread.
                _ = poll(until: DispatchTime.now().uptimeNanoseconds + Self.pollWindow)
            }
            if carrying && (pending.isEmpty || environment.publicationRequested) {
                if pending.isEmpty && !delayed && !closed && !environment.publicationRequested {
                    // The callers are late: wait a little longer for them, asleep (a write,
                    // a reader asking for the carried writes, or `close` wakes this thread).
                    delayed = true
                    wakeAt = 1
                    _ = condition.wait(until: Date(timeIntervalSinceNow: publicationDelay))
                    continue
                }
                // Nothing more to add to the carried writes now, or a reader waits for them:
                // they are committed before this thread sleeps or goes on.
                publishCarried()
                delayed = false
                continue
            }
            delayed = false
            wakeAt = 1
            while committing || (pending.isEmpty && !closed) { condition.wait() }
            if pending.isEmpty {
                // Closed, and nothing left to commit.
                condition.unlock()
                finished.signal()
                return
            }
            wakeAt = .max
            let batch = takePending(upTo: maxBatch)
            // Waiting a fraction of an fsync for the callers about to come back lets one commit
            // carry them all, instead of splitting them into batches that alternate. They are
            // applied as they come, so that the wait overlaps their work. A lone caller
            // (expected <= 1) never waits.
            let gather = expected > 1 && batch.count < expected
            commit(batch, gathering: gather ? min(expected, maxBatch) : 0, onWriterThread: true)
        }
    }

    /// Commits the carried writes in LMDB, so that readers see them. Called, and returns, with
    /// `condition` locked.
    private func publishCarried() {
        committing = true
        condition.unlock()
        // A failure leaves the environment refusing every read and write (the writes are durable
        // in the redo log, and the next open applies them): there is nothing else to do here.
        try? environment.publish()
        environment.startWriteback()
        condition.lock()
        committing = false
        carrying = false
    }

    /// Removes and returns up to `limit` of the oldest pending jobs. Called with `condition` locked.
    private func takePending(upTo limit: Int) -> [any WriteJob] {
        let take = min(pending.count, limit)
        let jobs = Array(pending[0..<take])
        pending.removeFirst(take)
        queuedCount.store(pending.count, ordering: .relaxed)
        return jobs
    }

    /// Commits `batch`, and with `gathering` > 0 the jobs that arrive within the gather window
    /// until there are that many, with `condition` unlocked around the transaction: called, and
    /// returns, with it locked. Sets `expected` for the next batch.
    ///
    /// On the writer thread (`onWriterThread`), the batch is carried (see
    /// ``Environment/write(carrying:_:)``): durable when its callers are resumed, committed in
    /// LMDB with the batches after it. Once a batch is committed, its pages are sent to the disk
    /// while the callers turn around, instead of in a burst every few milliseconds that a later
    /// flush of the redo log would queue behind; not on a caller's thread, which has its answer
    /// to write first.
    private func commit(_ batch: [any WriteJob], gathering: Int = 0, onWriterThread: Bool = false) {
        committing = true
        condition.unlock()
        let (ran, others) = run(batch, gathering: gathering, carrying: onWriterThread)
        if onWriterThread && environment.isPublicationDue {
            // Now that the batch's callers are answered, not in the next batch before they are.
            try? environment.publish()
        }
        let carried = onWriterThread && environment.isCarrying
        if onWriterThread && !carried { environment.startWriteback() }
        condition.lock()
        committing = false
        carrying = carried
        expected = min(ran + others, maxBatch)
        // Callers are coming back with their next writes: the processors that will run them
        // (and this thread, woken by the next flush) are kept from halting meanwhile.
        if expected > 1 { idlePoller?.keepAwake() }
    }

    /// Polls, yielding the processor to any other thread that can run, until a job is queued
    /// or `deadline` (uptime nanoseconds) passes; returns whether one is. Called, and returns,
    /// with `condition` locked.
    ///
    /// Used for at most ``pollWindow`` while callers are expected back: waking a sleeping
    /// thread costs the waker a system call and, on a virtual machine whose idle processors
    /// halt, an interrupt to another processor, all on the path every caller of the batch waits
    /// on.
    private func poll(until deadline: UInt64) -> Bool {
        wakeAt = .max
        condition.unlock()
        while queuedCount.load(ordering: .relaxed) == 0 && !environment.publicationRequested
                && DispatchTime.now().uptimeNanoseconds < deadline {
            sched_yield()
        }
        condition.lock()
        return !pending.isEmpty
    }

    /// How many jobs are queued now.
    private func queued() -> Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// Runs `batch` in one transaction, first gathering more jobs into it (see `commit`), and
    /// finishes every job; returns how many jobs it ran and how many others were queued just
    /// before their callers were resumed.
    @discardableResult
    private func run(_ batch: [any WriteJob], gathering: Int = 0, carrying: Bool = false) -> (ran: Int, others: Int) {
        var jobs = batch
        var others = 0
        do {
            try environment.write(carrying: carrying) { txn in
                // After the map grew, the body runs again: every job taken so far with it.
                for job in jobs { try job.apply(txn) }
                guard gathering > jobs.count else { return }
                let deadline = DispatchTime.now().uptimeNanoseconds + gatherWindow
                condition.lock()
                // A reader waiting for the carried writes cuts the gathering short.
                while jobs.count < gathering && !closed && !environment.publicationRequested {
                    if pending.isEmpty {
                        // Awake for a round trip, asleep for the rest of a longer window.
                        let now = DispatchTime.now().uptimeNanoseconds
                        if poll(until: min(deadline, now + Self.pollWindow)) { continue }
                        if environment.publicationRequested { break }
                        let left = Int64(bitPattern: deadline &- DispatchTime.now().uptimeNanoseconds)
                        wakeAt = 1
                        guard left > 0, condition.wait(until: Date(timeIntervalSinceNow: Double(left) / 1e9)) else { break }
                        continue
                    }
                    let more = takePending(upTo: maxBatch - jobs.count)
                    condition.unlock()
                    jobs += more
                    for job in more { try job.apply(txn) }
                    condition.lock()
                }
                wakeAt = .max
                condition.unlock()
            }
            batchCount += 1
            others = queued()
            Self.finish(jobs, failure: nil)
        } catch {
            others = queued()
            if jobs.count > 1 {
                // Find the job that broke the transaction: run each alone.
                for job in jobs { run([job]) }
            } else {
                Self.finish(jobs, failure: Self.map(error))
            }
        }
        return (jobs.count, others)
    }

    /// Resumes the callers of `jobs` (with `failure`, or each its outcome), telling each
    /// distinct observer of their callbacks once before the first (``WriteBatchObserver/batchStarting()``)
    /// and once after the last (``WriteBatchObserver/batchFinished()``).
    ///
    /// An observer is told as soon as the first outcome of its callbacks is settled, so that its
    /// consumer wakes while the rest are settled (≈ 1 µs a job), and before any callback runs.
    /// A callback registered after its outcome was settled (its caller may still be registering
    /// it as the batch commits) runs at once on its own thread, between its observer's own
    /// notifications; one registered before is found here, with its observer told in time.
    private static func finish(_ jobs: [any WriteJob], failure: (any Error)?) {
        var observers: [any WriteBatchObserver] = []
        for job in jobs {
            if let observer = job.settle(failure: failure), !observers.contains(where: { $0 === observer }) {
                observers.append(observer)
                observer.batchStarting()
            }
        }
        for job in jobs { job.resume() }
        for observer in observers { observer.batchFinished() }
    }

    static func map(_ error: any Error) -> any Error {
        if let error = error as? LMDBError {
            if error == .mapFull { return VaultError.unavailable("the store has reached its maximum map size") }
            if error == .diskFull { return VaultError.unavailable("the disk is full") }
            return VaultError.unavailable("storage error: \(error)")
        }
        return error
    }
}

/// One unit of work for the writer.
protocol WriteJob: AnyObject {
    /// Runs the job in `txn`; throws only storage errors, which abort the batch.
    func apply(_ txn: WriteTransaction) throws
    /// Settles the outcome (`failure` when the batch failed, else the job's own): a caller
    /// that starts waiting from now on gets it at once. Returns the observer of the callback
    /// already waiting, if any, which ``resume()`` runs.
    func settle(failure: (any Error)?) -> (any WriteBatchObserver)?
    /// Resumes the caller that was waiting when the outcome was settled, if any.
    func resume()
}

extension WriteJob {
    /// Settles the outcome and resumes the caller, telling no observer: for a job no caller
    /// can be waiting for yet.
    func finish(failure: (any Error)?) {
        _ = settle(failure: failure)
        resume()
    }
}

/// Delivers the outcomes of a batch's jobs together: a ticket's callback registered with an
/// observer only hands its outcome to it (quickly, on the writer thread), and the observer is
/// told once when the batch's jobs have all been finished, so that it can wake its consumer
/// once per batch instead of once per job.
public protocol WriteBatchObserver: AnyObject, Sendable {
    /// Called on the committing thread once a batch is durable, before the first of its
    /// callbacks registered with this observer runs: the consumer may be woken now, so that its
    /// wake-up overlaps the callbacks (which need not all have run when it looks). Always
    /// followed by ``batchFinished()``. Must be quick. Does nothing by default.
    func batchStarting()
    /// Called on the committing thread after every callback of a batch registered with this
    /// observer has run (or on the registering thread, around the callback, with
    /// ``batchStarting()`` before it, when the outcome was known at registration). Must be quick.
    func batchFinished()
}

extension WriteBatchObserver {
    public func batchStarting() {}
}

/// The durable result of a queued write, to be awaited.
struct WriteTicket<T: Sendable>: Sendable {
    fileprivate let job: Job<T>

    /// Waits until the job's batch has committed (or failed) and returns its outcome.
    func value() async throws -> T {
        try await job.value()
    }

    /// Calls `body` with the outcome once the job's batch has committed (or failed): on the
    /// writer thread, or at once on the caller's if it is already known. `body` must be quick.
    /// With an `observer`, that is told after `body` once the batch's jobs are all finished.
    func whenComplete(observer: (any WriteBatchObserver)? = nil, _ body: @escaping @Sendable (Result<T, any Error>) -> Void) {
        job.whenComplete(observer: observer, body)
    }
}

private final class Job<T: Sendable>: WriteJob, @unchecked Sendable {
    // Invariant: `outcome` is touched only on the committing thread until `settle`, and
    // `settled` only on it between `settle` and `resume`; `state` is guarded by its mutex and
    // moves once from pending to done.
    enum Waiter {
        case task(CheckedContinuation<T, any Error>)
        case callback(@Sendable (Result<T, any Error>) -> Void, (any WriteBatchObserver)?)
    }

    enum State {
        case pending(Waiter?)
        case done(Result<T, any Error>)
    }

    let isolated: Bool
    let body: @Sendable (WriteTransaction) throws -> T
    var outcome: Result<T, any Error>?
    let state = Mutex<State>(.pending(nil))
    /// The waiter that `settle` took, with its outcome, for `resume`.
    private var settled: (Waiter, Result<T, any Error>)?

    init(isolated: Bool, body: @escaping @Sendable (WriteTransaction) throws -> T) {
        self.isolated = isolated
        self.body = body
    }

    func apply(_ txn: WriteTransaction) throws {
        outcome = nil
        do {
            outcome = .success(isolated ? try txn.nested(body) : try body(txn))
        } catch let error as LMDBError {
            throw error
        } catch {
            outcome = .failure(error)
        }
    }

    func settle(failure: (any Error)?) -> (any WriteBatchObserver)? {
        let result: Result<T, any Error>
        if let failure {
            result = .failure(failure)
        } else if let outcome {
            result = outcome
        } else {
            result = .failure(VaultError.internal("a write job produced no outcome"))
        }
        let waiter = state.withLock { state -> Waiter? in
            guard case .pending(let waiter) = state else { return nil }
            state = .done(result)
            return waiter
        }
        guard let waiter else { return nil }
        settled = (waiter, result)
        if case .callback(_, let observer) = waiter { return observer }
        return nil
    }

    func resume() {
        guard let (waiter, result) = settled else { return }
        settled = nil
        switch waiter {
        case .task(let continuation): continuation.resume(with: result)
        case .callback(let body, _): body(result)
        }
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            if let ready = wait(.task(continuation)) { continuation.resume(with: ready) }
        }
    }

    func whenComplete(observer: (any WriteBatchObserver)?, _ body: @escaping @Sendable (Result<T, any Error>) -> Void) {
        if let ready = wait(.callback(body, observer)) {
            observer?.batchStarting()
            body(ready)
            observer?.batchFinished()
        }
    }

    /// Registers the one waiter, or returns the outcome when it is already known.
    private func wait(_ waiter: Waiter) -> Result<T, any Error>? {
        state.withLock { state in
            switch state {
            case .done(let result): return result
            case .pending: state = .pending(waiter); return nil
            }
        }
    }
}
