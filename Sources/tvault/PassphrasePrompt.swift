import Foundation
import TranscriptCrypto

/// Asks for a passphrase on the terminal, with echo off: the third way to give one, after
/// `--passphrase-file` and `TVAULT_PASSPHRASE` (never an argument).
enum PassphrasePrompt {
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
        tcsetattr(0, TCSAFLUSH, &silent)
        defer {
            tcsetattr(0, TCSAFLUSH, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        var line: [UInt8] = []
        line.reserveCapacity(256)
        defer { line.zeroize() }
        var byte: UInt8 = 0
        while read(0, &byte, 1) == 1, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") {
            guard line.count < maxBytes else { throw CLIError.failure("the passphrase is longer than \(maxBytes) bytes") }
            line.append(byte)
        }
        byte = 0
        guard !line.isEmpty else { throw CLIError.failure("no passphrase given") }
        return try SecretBytes(copying: line)
    }
}
