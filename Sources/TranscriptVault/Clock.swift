internal import Glibc

/// Wall-clock time in milliseconds since the Unix epoch, as stored in records.
public enum Clock {
    /// Now, in milliseconds since the Unix epoch.
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
