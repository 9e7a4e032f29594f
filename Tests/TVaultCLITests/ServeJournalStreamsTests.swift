import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// `tvault serve`'s first run under systemd setups beyond the plain one: standard output and
/// standard error as two journal streams, and an admin socket outside the data directory.
@Suite("tvault serve and the journal: two streams, another admin socket")
struct ServeJournalStreamsTests {
    /// A connected pair of Unix stream sockets: `[child end, test end]`.
    static func socketPair() throws -> [Int32] {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw CLITestError("socketpair") }
        return fds
    }

    static func streamID(_ fd: Int32) throws -> String {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw CLITestError("fstat") }
        return "\(status.st_dev):\(status.st_ino)"
    }

    /// Reads whatever `fd` has now (non-blocking), appending it to `text`.
    static func drain(_ fd: Int32, into text: inout String) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
            guard count > 0 else { return }
            text += String(decoding: chunk[..<count], as: UTF8.self)
        }
    }

    /// systemd connects standard output and standard error as two journal streams when their
    /// settings differ (`StandardOutput=journal` with `StandardError=journal+console`, or
    /// `kmsg`): it then sets `JOURNAL_STREAM` to standard error's stream ("If both stdout and
    /// stderr are connected to a stream then let's make sure to store the data about STDERR",
    /// src/core/exec-invoke.c). Standard output is the journal all the same.
    @Test("a first run whose standard output and standard error are two journal streams (JOURNAL_STREAM names stderr's) prints no token")
    func separateStreamsPrintNoToken() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = try Self.socketPair(), err = try Self.socketPair()
        defer { for fd in out + err { close(fd) } }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: tvaultBinary)
        process.arguments = ["serve", "--data-dir", directory, "--log-level", "warning"]
        process.environment = childEnvironment(["JOURNAL_STREAM": try Self.streamID(err[0])])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(fileDescriptor: out[0], closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: err[0], closeOnDealloc: false)
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var stdout = "", stderr = ""
        // Bounded only so that a broken build fails instead of hanging.
        let deadline = Date().addingTimeInterval(60)
        while !stdout.contains("Listening on") {
            Self.drain(out[1], into: &stdout)
            Self.drain(err[1], into: &stderr)
            try #require(process.isRunning, "tvault serve exited: \(stdout)\(stderr)")
            try #require(Date() < deadline, "tvault serve did not listen: \(stdout)\(stderr)")
            usleep(20_000)
        }
        #expect(!stdout.contains("tvt_"), "a token reached the journal: \(stdout)")
        #expect(stdout.contains("none issued"))
    }

    @Test("the hint printed instead of a token works as printed for a server whose admin socket is not <data-dir>/admin.sock")
    func hintNamesTheAdminSocket() throws {
        let directory = shortTemporaryPath()
        let admin = directory + "-admin.sock"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(directory: directory, arguments: ["--admin-socket", admin], journal: .output)
        defer { server.stop() }
        let output = server.output
        let hint = try #require(output.split(separator: "\n").first { $0.contains("issue one with: ") }, "no hint: \(output)")
        let command = hint.components(separatedBy: "issue one with: ")[1].split(separator: " ").map(String.init)
        try #require(command.first == "tvault")
        let run = try tvault(Array(command.dropFirst()))
        #expect(run.status == 0, "the hint's command fails: \(run)")
        #expect(run.stdout.hasPrefix("tvt_"))
    }
}
