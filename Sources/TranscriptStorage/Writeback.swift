internal import CTranscriptLMDB
internal import Glibc

/// A thread that starts the kernel writing `data.mdb`'s dirty pages every ``interval``
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`: no wait, no device flush). Under load the writer
/// thread also does so after each batch (``Environment/startWriteback()``); this thread covers
/// commits made elsewhere (a lone caller's, an administrator's).
///
/// A durable environment commits LMDB without flushing and flushes `data.mdb` only at a
/// checkpoint; without this, every page written since the last checkpoint would be written out
/// by the checkpoint's `fdatasync`, on the committing thread, while the callers of the batch
/// behind it wait. Pages written early change nothing for safety: durability comes from the redo
/// log, and the checkpoint's own pages are never rewritten (see ``RedoLog``).
final class Writeback: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `stopped` is touched only with `mutex` held; `fd`
    // is immutable and stays open until `stop` has joined the thread.

    static let interval: Int = 20_000_000   // nanoseconds

    private let fd: Int32
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopped = false
    private var thread = pthread_t()

    init(fd: Int32) {
        self.fd = fd
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

    /// Starts the kernel writing the file's dirty pages now, on the calling thread. A failure
    /// only means the checkpoint writes those pages itself.
    func start() {
        _ = sync_file_range(fd, 0, 0, UInt32(TVAULT_SYNC_FILE_RANGE_WRITE))
    }

    private func run() {
        pthread_mutex_lock(mutex)
        while !stopped {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            deadline.tv_nsec += Self.interval
            if deadline.tv_nsec >= 1_000_000_000 {
                deadline.tv_sec += 1
                deadline.tv_nsec -= 1_000_000_000
            }
            pthread_cond_timedwait(condition, mutex, &deadline)
            if stopped { break }
            pthread_mutex_unlock(mutex)
            start()
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }
}
