import Foundation
import Testing
import TranscriptStorage
import TranscriptTestSupport

/// The store's threads carry names that `ps -L`, `top -H` and `perf` show.
@Suite("Thread names")
struct ThreadNameTests {
    /// Runs `body` on a new thread and returns what it returned.
    static func onThread(_ body: @escaping @Sendable () -> String) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    @Test("a thread takes the name given, cut to the kernel's 15 bytes")
    func names() async throws {
        let short = await Self.onThread {
            nameCurrentThread("tvault-test")
            return currentThreadName()
        }
        #expect(short == "tvault-test")
        let long = await Self.onThread {
            nameCurrentThread("tvault-a-much-longer-name")
            return currentThreadName()
        }
        #expect(long == "tvault-a-much-l")
    }

    @Test("a durable environment's write-back thread is named")
    func writebackThread() async throws {
        try await withTemporaryDirectory { dir in
            let env = try Environment(path: dir + "/store", databases: ["data"])
            // The thread names itself once it runs.
            #expect(try await eventually { processThreadNames().contains("tvault-writebk") }, "\(processThreadNames())")
            withExtendedLifetime(env) {}
        }
    }
}
