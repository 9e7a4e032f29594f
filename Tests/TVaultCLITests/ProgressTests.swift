import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// Long commands show progress on a terminal and stay quiet in a pipe.
@Suite("Progress display")
struct ProgressTests {
    @Test("verify draws progress on a terminal and clears it; a pipe gets nothing")
    func verifyOnTerminal() async throws {
        try await CommandTests.withFilledStore { directory in
            let piped = try tvaultOK(["verify", "--data-dir", directory])
            #expect(piped.stderr.isEmpty)

            let terminal = try PseudoTerminal()
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: tvaultBinary)
            process.arguments = ["verify", "--data-dir", directory, "--format", "json"]
            process.environment = childEnvironment()
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(fileDescriptor: terminal.secondary, closeOnDealloc: false)
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let shown = terminal.readAvailable()
            #expect(shown.contains("Verifying"), "no progress on a terminal: \(shown.debugDescription)")
            #expect(shown.hasSuffix("\r\u{1B}[2K"), "the progress line is not cleared: \(shown.debugDescription)")
        }
    }
}

/// A pseudo-terminal pair: the child writes to `secondary`, the test reads `primary`.
final class PseudoTerminal {
    let primary: Int32
    let secondary: Int32

    /// With `raw` (the default), output reaches `primary` untranslated; without it the terminal
    /// keeps a terminal's defaults (line editing, echo), as when a person types.
    init(raw: Bool = true) throws {
        // posix_openpt and friends are not in the Glibc module: the same steps by hand.
        primary = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard primary >= 0 else { throw CLITestError("no pseudo-terminal: \(String(cString: strerror(errno)))") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        let tiocsptlck: UInt = 0x4004_5431, tiocgptn: UInt = 0x8004_5430
        guard ioctl(primary, tiocsptlck, &unlock) == 0, ioctl(primary, tiocgptn, &number) == 0 else {
            throw CLITestError("cannot unlock the pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        secondary = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard secondary >= 0 else { throw CLITestError("cannot open /dev/pts/\(number)") }
        // Raw output: no "\n" → "\r\n" translation in what the test reads back.
        if raw {
            var settings = termios()
            tcgetattr(secondary, &settings)
            cfmakeraw(&settings)
            tcsetattr(secondary, TCSANOW, &settings)
        }
    }

    deinit {
        close(secondary)
        close(primary)
    }

    /// Everything written so far, without waiting for more.
    func readAvailable() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var descriptor = pollfd(fd: primary, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) == 1 else { break }
            let count = chunk.withUnsafeMutableBytes { read(primary, $0.baseAddress!, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
