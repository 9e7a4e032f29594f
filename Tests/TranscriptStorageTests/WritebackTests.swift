import Foundation
import Synchronization
import Testing
import TranscriptTestSupport
@testable import TranscriptStorage

/// The write-back thread starts the kernel writing `data.mdb` on its timer, and at once when
/// the writer asks, so that the writer never makes the call (which can wait for the device).
@Suite("Write-back thread")
struct WritebackTests {
    /// A write-back over a scratch file with dirty pages, whose own timer (an hour) never fires
    /// during a test.
    static func withWriteback(_ body: (Writeback) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let fd = open(directory + "/file", O_RDWR | O_CREAT, 0o600)
            try #require(fd >= 0)
            defer { close(fd) }
            let page = [UInt8](repeating: 7, count: 4096)
            for index in 0..<64 { _ = pwrite(fd, page, page.count, off_t(index * 4096)) }
            let writeback = Writeback(fd: fd, interval: 3_600_000_000_000)
            do {
                try await body(writeback)
            } catch {
                writeback.stop()
                throw error
            }
            writeback.stop()
        }
    }

    @Test("a request starts the write-back at once, not at the next tick of its timer")
    func requestStartsAtOnce() async throws {
        try await Self.withWriteback { writeback in
            try await Task.sleep(for: .milliseconds(100))
            #expect(writeback.startCount == 0, "the thread started without being asked")
            writeback.request()
            #expect(try await eventually { writeback.startCount == 1 })
            writeback.request()
            #expect(try await eventually { writeback.startCount == 2 })
        }
    }

    @Test("requests made together are served, none left waiting for the timer")
    func burstOfRequests() async throws {
        try await Self.withWriteback { (writeback: Writeback) async throws in
            // Requests while the thread is starting one are taken by its next round.
            for _ in 0..<50 { writeback.request() }
            #expect(try await eventually { writeback.startCount >= 1 })
            let served = writeback.startCount
            #expect(served <= 50)
            // The last request made is always served: a new one now is, too.
            writeback.request()
            #expect(try await eventually { writeback.startCount > served })
        }
    }

    @Test("stop ends the thread while it waits out a long interval")
    func stopsWhileWaiting() async throws {
        try await withTemporaryDirectory { directory in
            let fd = open(directory + "/file", O_RDWR | O_CREAT, 0o600)
            try #require(fd >= 0)
            defer { close(fd) }
            let writeback = Writeback(fd: fd, interval: 3_600_000_000_000)
            try await Task.sleep(for: .milliseconds(50))
            let stopped = Atomic<Bool>(false)
            let thread = Thread {
                writeback.stop()
                stopped.store(true, ordering: .releasing)
            }
            thread.start()
            #expect(try await eventually { stopped.load(ordering: .acquiring) })
        }
    }
}
