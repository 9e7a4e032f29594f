#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking Unix stream socket that writes request lines and reads newline-ended response
/// lines: one `--client posix` or `--client poll` connection, used by one thread at a time.
struct LineSocket: Sendable {
    private let fd: Int32
    /// Received bytes: `buffer[start..<end]` are not returned yet, and `buffer[start..<scanned]`
    /// hold no newline. Grows to the longest response.
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var scanned = 0
    private var end = 0

    /// Connects to the socket at `path`.
    init(connectingTo path: String) throws(LoadError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw LoadError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        #if canImport(Glibc)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LoadError("socket: \(systemError())") }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let message = systemError()
            close(fd)
            throw LoadError("cannot connect to \(path): \(message)")
        }
    }

    /// Closes the socket.
    func disconnect() {
        close(fd)
    }

    /// Writes all of `line` (which ends with its newline).
    func sendLine(_ line: [UInt8]) throws(LoadError) {
        var offset = 0
        while offset < line.count {
            let written = line.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            if written < 0 {
                if errno == EINTR { continue }
                throw LoadError("send: \(systemError())")
            }
            offset += written
        }
    }

    /// Reads up to the next newline, over as many `recv` calls as that takes, and passes `body`
    /// the line without it (valid only during the call). Bytes after the newline stay buffered
    /// for the next line.
    mutating func receiveLine<Result>(_ body: (UnsafeRawBufferPointer) -> Result) throws(LoadError) -> Result {
        while true {
            if let result = bufferedLine(body) { return result }
            try receive()
        }
    }

    /// Passes `body` the next line already received (without its newline), or returns `nil`
    /// when no whole line is buffered. Never blocks.
    mutating func bufferedLine<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        let (from, to) = (scanned, end)
        let newline = buffer.withUnsafeBytes { raw -> Int? in
            guard from < to, let found = memchr(raw.baseAddress! + from, Int32(UInt8(ascii: "\n")), to - from) else {
                return nil
            }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(found))
        }
        guard let newline else {
            scanned = end
            return nil
        }
        let lineStart = start
        let result = buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[lineStart..<newline])) }
        start = newline + 1
        scanned = start
        if start == end { (start, scanned, end) = (0, 0, 0) }
        return result
    }

    /// The descriptor, for `poll`.
    var descriptor: Int32 { fd }

    /// Receives more bytes, first making room when the buffer is full: moving the pending
    /// bytes to the front, or doubling it when they fill it.
    mutating func receive() throws(LoadError) {
        if end == buffer.count {
            if start > 0 {
                let (from, count) = (start, end - start)
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + from, count)
                }
                (start, scanned, end) = (0, scanned - from, count)
            } else {
                buffer += repeatElement(0, count: buffer.count)
            }
        }
        let (fd, offset) = (fd, end)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
        if received > 0 {
            end += received
        } else if received == 0 {
            throw LoadError("the server closed the connection")
        } else if errno != EINTR {
            throw LoadError("recv: \(systemError())")
        }
    }
}

/// The description of `errno`.
private func systemError() -> String {
    String(cString: strerror(errno))
}
