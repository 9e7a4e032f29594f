import Foundation
import Glibc
import TranscriptTestSupport

/// A plain blocking Unix-socket client, for what `TranscriptClient` cannot show: an answer the
/// server writes before any request, one write of many pipelined lines, a slow drip of bytes,
/// and the moment the server closes the connection.
///
/// Blocking calls run on their own thread (``offload(_:)``), never on the cooperative pool,
/// which the server's tasks share with the tests.
final class RawSocket: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `pending` and `start` are used only by `readLine`,
    // and a test reads from one thread at a time; `fd` is immutable and the kernel serialises
    // its use.
    let fd: Int32
    /// Bytes received and not yet returned start at `pending[start]`.
    private var pending: [UInt8] = []
    private var start = 0

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String) throws {
        do {
            fd = try connectUnixSocket(path: path)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Writes all of `bytes`; throws when the peer has gone (no SIGPIPE).
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// The next line without its newline, or `nil` at end of stream (or a reset).
    func readLine(timeout: Double = 10) throws -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        // Only the bytes not yet searched are searched again (a line of megabytes arrives in
        // thousands of chunks), and lines are not removed one by one from the front (a chunk
        // holds thousands of short lines).
        var searched = start
        while true {
            if let newline = pending[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[start..<newline])
                start = newline + 1
                return line
            }
            pending.removeSubrange(..<start)
            start = 0
            searched = pending.count
            guard let chunk = try receive(until: deadline) else { return nil }
            pending += chunk
        }
    }

    /// The next `count` lines; throws if the stream ends first.
    func readLines(_ count: Int, timeout: Double = 30) throws -> [[UInt8]] {
        try (0..<count).map { index in
            guard let line = try readLine(timeout: timeout) else {
                throw Failure(description: "the server closed after \(index) of \(count) lines")
            }
            return line
        }
    }

    /// Every line until the server closes the connection, each within `timeout` of the last.
    func readLinesUntilClose(timeout: Double) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        while let line = try readLine(timeout: timeout) { lines.append(line) }
        return lines
    }

    /// Waits until the peer closes, discarding what arrives; throws on timeout.
    func waitForClose(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try receive(until: deadline) != nil {}
    }

    /// Whether the peer has closed, checked without waiting.
    func isClosedByPeer() -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) == 1 else { return false }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    /// Half-closes the connection: the server sees end of stream.
    func shutdownWrite() {
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    private func receive(until deadline: Date) throws -> [UInt8]? {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure(description: "timed out waiting for the server") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "poll: \(String(cString: strerror(errno)))")
            }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count == 0 { return nil }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { return nil }
                throw Failure(description: "recv: \(String(cString: strerror(errno)))")
            }
            return Array(chunk[..<count])
        }
    }
}
