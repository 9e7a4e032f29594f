import Foundation
import TranscriptCrypto

/// Asks for a passphrase on the terminal, with echo off: the third way to give one, after
/// `--passphrase-file` and `TVAULT_PASSPHRASE` (never an argument).
enum PassphrasePrompt {
    /// The terminal's settings while the prompt has echo off, for the signal handler that
    /// restores them (a C handler captures nothing).
    nonisolated(unsafe) static var savedTerminal = termios()

    /// The longest passphrase read, in bytes.
    static let maxBytes = 4096

    /// Writes `prompt` to standard error and reads a line from standard input, not echoed;
    /// `nil` when standard input is not a terminal (nobody to ask).
    static func ask(_ prompt: String) throws -> SecretBytes? {
        guard isatty(0) == 1 else { return nil }
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { return nil }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        FileHandle.standardError.write(Data(prompt.utf8))
        // Interrupted at the prompt, the terminal gets its echo back before the process ends.
        savedTerminal = original
        var restore = sigaction()
        restore.__sigaction_handler.sa_handler = { signal in
            tcsetattr(0, TCSAFLUSH, &PassphrasePrompt.savedTerminal)
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
        var previous = (sigaction(), sigaction(), sigaction())
        sigaction(SIGINT, &restore, &previous.0)
        sigaction(SIGTERM, &restore, &previous.1)
        sigaction(SIGHUP, &restore, &previous.2)
        tcsetattr(0, TCSAFLUSH, &silent)
        defer {
            tcsetattr(0, TCSAFLUSH, &original)
            sigaction(SIGINT, &previous.0, nil)
            sigaction(SIGTERM, &previous.1, nil)
            sigaction(SIGHUP, &previous.2, nil)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        var line: [UInt8] = []
        line.reserveCapacity(256)
        defer { line.zeroize() }
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else { break }
            guard line.count < maxBytes else { throw CLIError.failure("the passphrase is longer than \(maxBytes) bytes") }
            line.append(byte)
        }
        byte = 0
        guard !line.isEmpty else { throw CLIError.failure("no passphrase given") }
        return try SecretBytes(copying: line)
    }
}
