internal import CTranscriptLMDB
internal import Glibc

/// A thread that starts the kernel writing `data.mdb`'s dirty pages every 20 ms
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`: no device flush), and at once when asked
/// (``request()``): under load the writer thread asks after each commit
/// (``Environment/startWriteback()``), and the interval covers commits made elsewhere (a lone
/// caller's, an administrator's).
///
/// The call is made here, not on the writer thread: it waits while the device's queue is
/// full, which here took up to 0.8 ms, and the writer's next batch would wait with it.
///
/// A durable environment commits LMDB without flushing and flushes `data.mdb` only at a
/// checkpoint; without this, every page written since the last checkpoint would be written out
/// by the checkpoint's `fdatasync`, on the committing thread, while the callers of the batch
/// behind it wait. Pages written early change nothing for safety: durability comes from the redo
/// log, and the checkpoint's own pages are never rewritten (see ``RedoLog``).
final class Writeback: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `stopped`, `requested`, `waiting` and `starts` are
    // touched only with `mutex` held; `fd` is immutable and stays open until `stop` has joined
    // the thread.

    static let defaultInterval: Int = 20_000_000   // nanoseconds

    private let fd: Int32
    /// Nanoseconds between the thread's own starts.
    private let interval: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopped = false
    /// A ``request()`` not yet taken by the thread.
    private var requested = false
    /// The thread waits in `condition` (a request must signal it).
    private var waiting = false
    private var thread = pthread_t()
    /// The thread's `sync_file_range` calls so far (guarded by `mutex`).
    private var starts = 0

    init(fd: Int32, interval: Int = Writeback.defaultInterval) {
        self.fd = fd
        self.interval = interval
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            nameCurrentThread("tvault-writebk")
            let writeback = Unmanaged<Writeback>.fromOpaque(context!).takeRetainedValue()
            writeback.run()
            return nil
        }, context)
        if status != 0 {
            // Without the thread, checkpoints write everything themselves: slower, still safe.
            Unmanaged<Writeback>.fromOpaque(context).release()
            stopped = true
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Stops and joins the thread. Called once, before `fd` is closed.
    func stop() {
        pthread_mutex_lock(mutex)
        let running = !stopped
        stopped = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if running { pthread_join(thread, nil) }
    }

    /// Asks the thread to start the kernel writing the file's dirty pages now. Returns at
    /// once; costs a wake-up only when the thread is waiting and not asked already. Without
    /// the thread, does nothing: checkpoints then write those pages themselves.
    func request() {
        pthread_mutex_lock(mutex)
        let wake = waiting && !requested
        requested = true
        if wake { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// How many times the thread has started the write-back, for tests.
    var startCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return starts
    }

    /// Starts the kernel writing the file's dirty pages, on the calling thread. A failure only
    /// means the checkpoint writes those pages itself.
    private func start() {
        _ = sync_file_range(fd, 0, 0, UInt32(TVAULT_SYNC_FILE_RANGE_WRITE))
    }

    private func run() {
        pthread_mutex_lock(mutex)
        while !stopped {
            if !requested {
                var deadline = timespec()
                clock_gettime(CLOCK_MONOTONIC, &deadline)
                deadline.tv_sec += interval / 1_000_000_000
                deadline.tv_nsec += interval % 1_000_000_000
                if deadline.tv_nsec >= 1_000_000_000 {
                    deadline.tv_sec += 1
                    deadline.tv_nsec -= 1_000_000_000
                }
                waiting = true
                pthread_cond_timedwait(condition, mutex, &deadline)
                waiting = false
            }
            if stopped { break }
            requested = false
            pthread_mutex_unlock(mutex)
            start()
            pthread_mutex_lock(mutex)
            starts += 1
        }
        pthread_mutex_unlock(mutex)
    }
}
