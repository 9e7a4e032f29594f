import Synchronization
internal import Glibc

/// A token bucket per bearer token: `rate` requests per second sustained, `burst` at once.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Int, burst: Int) {
        self.rate = Double(rate)
        self.burst = Double(max(burst, 1))
    }

    /// Takes one request from `key`'s bucket; returns `nil` when allowed, else the milliseconds
    /// until one will be.
    func acquire(_ key: String) -> Int64? {
        let now = Self.monotonicNanoseconds()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            // Another thread that read the clock later may have taken the lock first: time
            // never runs backwards here (the difference would wrap, and refill the bucket).
            let elapsed = now > bucket.updated ? Double(now - bucket.updated) / 1e9 : 0
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = max(bucket.updated, now)
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
