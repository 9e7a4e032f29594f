// tvault-crash: appends from many tasks at once and reports each acknowledged append, so that
// a test can kill the process with SIGKILL at any moment and check that nothing acknowledged
// was lost.
//
// Usage: tvault-crash <data-dir> <appenders> <appends-per-appender>
//
// The store is initialised when the directory holds none (default unlock key file), else
// opened. Tenant "crash" is created when missing, then `ready` is printed. Appender i appends
// one message at a time to conversation "conv-<i>"; after each acknowledged (durable) append it
// writes `ack <i> <seq> <digest>` to stdout with write(2), unbuffered, so that every line a
// reader sees was written after the commit. <digest> is the FNV-1a 64-bit hash of the message
// bytes in 16 hexadecimal digits. An <appends-per-appender> of 0 means "until killed".
//
// The message of appender i's k-th append (k from 1) is, byte for byte:
//   {"a":<i>,"n":<k>,"pad":"<160 × letter>"}   letter = "a" + (i + k) % 26
// Tests rebuild it from the ack lines (appender i's k-th ack line is its k-th append).
//
// Exit status: 0 when every append is done, 1 on any error (message on stderr), 64 on bad usage.

import Glibc
import Synchronization
import TranscriptVault

/// Writes all of `text` to `fd`, retrying on short writes and EINTR.
func writeAll(_ text: String, to fd: Int32) -> Bool {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Serialises lines on stdout so that two appenders never interleave within a line.
let stdoutLock = Mutex(())

func emit(_ line: String) throws {
    let ok = stdoutLock.withLock { _ in writeAll(line + "\n", to: STDOUT_FILENO) }
    guard ok else { throw HarnessError("cannot write to stdout (errno \(errno))") }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    _ = writeAll("tvault-crash: \(message)\n", to: STDERR_FILENO)
    exit(status)
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The message of appender `appender`'s `k`-th append (see the header comment).
func message(appender: Int, k: Int) -> [UInt8] {
    let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8((appender + k) % 26)))
    let pad = String(repeating: letter, count: 160)
    return Array(#"{"a":\#(appender),"n":\#(k),"pad":"\#(pad)"}"#.utf8)
}

/// FNV-1a 64-bit, as 16 lowercase hexadecimal digits.
func digest(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let appenders = Int(arguments[2]), appenders > 0,
      let perAppender = Int(arguments[3]), perAppender >= 0 else {
    fail("usage: tvault-crash <data-dir> <appenders> <appends-per-appender>", status: 64)
}
let configuration = Vault.Configuration(dataDirectory: arguments[1])
let tenant = "crash"

do {
    let vault = configuration.dataDirectory.isInitialized
        ? try Vault.open(configuration)
        : try Vault.initialize(configuration)
    do {
        _ = try await vault.createTenant(tenant)
    } catch VaultError.alreadyExists {
        // A run before this one created it.
    }
    try emit("ready")
    try await withThrowingTaskGroup(of: Void.self) { group in
        for appender in 0..<appenders {
            group.addTask {
                var k = 1
                while perAppender == 0 || k <= perAppender {
                    let bytes = message(appender: appender, k: k)
                    let result = try await vault.append(AppendRequest(
                        tenant: tenant, conversationID: "conv-\(appender)", messages: [bytes]))
                    try emit("ack \(appender) \(result.firstSeq) \(digest(bytes))")
                    k += 1
                }
            }
        }
        try await group.waitForAll()
    }
    vault.close()
} catch {
    fail("\(error)")
}
