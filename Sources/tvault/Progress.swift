import Foundation

/// Progress lines for long commands: shown on a terminal (stderr is a tty), silent in pipes.
enum Progress {
    /// A reporter printing `done/total` over one line, or `nil` when stderr is not a terminal.
    static func reporter(label: String = "progress") -> (@Sendable (Int, Int) -> Void)? {
        guard isatty(2) == 1 else { return nil }
        return { done, total in
            let line = "\r\(label): \(done)/\(total)" + (done >= total ? "\n" : "")
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
