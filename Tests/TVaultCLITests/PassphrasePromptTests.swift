import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// A store unlocked with a passphrase asks for it on a terminal, without echoing it, when
/// neither `--passphrase-file` nor `TVAULT_PASSPHRASE` gives it.
@Suite("Passphrase prompt", .serialized)
struct PassphrasePromptTests {
    static let passphrase = "correct horse battery staple"

    @Test("on a terminal the passphrase is asked for, not echoed, and opens the store; a wrong one exits 2")
    func promptOnTerminal() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = ["TVAULT_PASSPHRASE": Self.passphrase]
        try #require(try tvault(["init", "--data-dir", directory], environment: secret).status == 0)
        try #require(try tvault(["tenant", "create", "acme", "--data-dir", directory], environment: secret).status == 0)

        // Without a terminal nobody is asked: the error says how to give it.
        let piped = try tvault(["tenant", "list", "--data-dir", directory])
        expectStatus(piped, 2)
        #expect(piped.stderr.contains("TVAULT_PASSPHRASE"))
        #expect(piped.stderr.contains("terminal"))

        let right = try Self.typed(Self.passphrase, ["tenant", "list", "--data-dir", directory, "--format", "json"])
        #expect(right.status == 0, "\(right.terminal)")
        #expect(right.terminal.contains("Passphrase for \(directory): "))
        #expect(!right.terminal.contains("horse"), "the passphrase was echoed: \(right.terminal.debugDescription)")
        #expect(right.stdout.contains(#""name":"acme""#))

        let wrong = try Self.typed("wrong horse", ["tenant", "list", "--data-dir", directory])
        #expect(wrong.status == 2, "\(wrong.terminal)")
        #expect(wrong.terminal.contains("unlock secret"))
        #expect(!wrong.terminal.contains("horse"))
    }

    @Test("interrupted at the prompt, the command gives the terminal its echo back")
    func interruptedPrompt() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #require(try tvault(["init", "--data-dir", directory], environment: ["TVAULT_PASSPHRASE": Self.passphrase]).status == 0)
        let (process, terminal, shown) = try Self.startAtPrompt(["stats", "--data-dir", directory], output: FileHandle.nullDevice)
        try #require(shown.contains("Passphrase for"), "no prompt: \(shown.debugDescription)")
        var settings = termios()
        tcgetattr(terminal.secondary, &settings)
        #expect(settings.c_lflag & tcflag_t(ECHO) == 0, "echo is on while the passphrase is typed")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT)
        tcgetattr(terminal.secondary, &settings)
        #expect(settings.c_lflag & tcflag_t(ECHO) != 0, "the terminal was left without echo")
    }

    /// Starts `tvault` with standard input and error on a terminal that echoes, as a person's
    /// does, and standard output to `output`; returns once the passphrase prompt shows (or the
    /// process ended, or 60 s passed) with what the terminal showed so far.
    static func startAtPrompt(_ arguments: [String], output: FileHandle) throws -> (process: ChildProcess, terminal: PseudoTerminal, shown: String) {
        let terminal = try PseudoTerminal(raw: false)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: tvaultBinary)
        process.arguments = arguments
        process.environment = childEnvironment()
        process.standardInput = FileHandle(fileDescriptor: terminal.secondary, closeOnDealloc: false)
        process.standardOutput = output
        process.standardError = FileHandle(fileDescriptor: terminal.secondary, closeOnDealloc: false)
        try process.run()
        var shown = ""
        let deadline = Date().addingTimeInterval(60)
        while !shown.contains("Passphrase for"), process.isRunning, Date() < deadline {
            shown += terminal.readAvailable()
        }
        return (process, terminal, shown)
    }

    /// Runs `tvault` with standard input and error on a terminal, types `line` once the
    /// prompt shows, and returns the exit status, what the terminal showed and standard output.
    static func typed(_ line: String, _ arguments: [String]) throws -> (status: Int32, terminal: String, stdout: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tvp-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        // Typed only once the prompt shows, as a person would: input that arrives before the
        // echo is turned off is echoed by the terminal itself.
        let (process, terminal, prompted) = try startAtPrompt(arguments, output: try FileHandle(forWritingTo: output))
        let typed = Array((line + "\n").utf8)
        _ = typed.withUnsafeBytes { write(terminal.primary, $0.baseAddress, $0.count) }
        process.waitUntilExit()
        let shown = prompted + terminal.readAvailable()
        return (process.terminationStatus, shown, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}
