import Foundation
import Synchronization
import Testing
@testable import TranscriptServer

/// Connections of one token run on several event loops, so their requests take from the same
/// bucket at once. A thread that read the clock before another but took the lock after it used
/// to see time run backwards: the difference wrapped to centuries, and the bucket refilled whole.
@Suite("Rate limiter under concurrent connections")
struct RateLimiterRaceTests {
    @Test("threads taking from one bucket at once get no more than its burst and what the rate adds meanwhile")
    func concurrentAcquire() throws {
        let burst = 100
        let limiter = RateLimiter(rate: 1, burst: burst)
        let allowed = Atomic<Int>(0)
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<20_000 where limiter.acquire("token") == nil {
                allowed.add(1, ordering: .relaxed)
            }
        }
        // One a second at most after the burst, however long the threads took.
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let bound = burst + Int(seconds.rounded(.up)) + 1
        #expect(allowed.load(ordering: .relaxed) <= bound, "\(allowed.load(ordering: .relaxed)) allowed, at most \(bound) due")
        #expect(allowed.load(ordering: .relaxed) >= burst)
    }
}
