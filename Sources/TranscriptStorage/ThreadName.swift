internal import Glibc

/// Names the calling thread as `ps -L`, `top -H` and `perf` show it (at most 15 bytes kept).
///
/// Written to `/proc/thread-self/comm`: `pthread_setname_np` is not visible to Swift through
/// Glibc, and a Foundation `Thread`'s name set before it starts is not applied on Linux.
/// Failing to name a thread changes nothing else, so a failure is ignored.
public func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
