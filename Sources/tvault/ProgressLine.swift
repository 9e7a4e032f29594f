import Foundation
import Glibc
import Synchronization

/// A one-line progress display on standard error, redrawn in place, shown only when standard
/// error is a terminal: in a pipe or a log file long commands stay quiet.
final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: Double = 0
        var drawn = false
    }

    private let state = Mutex(State())
    /// Whether anything is shown at all.
    let isEnabled: Bool

    init() {
        isEnabled = isatty(STDERR_FILENO) == 1
    }

    /// Shows `text`, at most ten times a second unless `force`.
    func update(_ text: String, force: Bool = false) {
        guard isEnabled else { return }
        let now = Date().timeIntervalSince1970
        let draw = state.withLock { state -> Bool in
            guard force || now - state.lastDraw >= 0.1 else { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        if draw { FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8)) }
    }

    /// A `(done, total)` reporter drawing `label: done/total`, or `nil` when standard error is
    /// not a terminal, for engine calls that count their progress.
    static func reporter(label: String = "progress") -> (@Sendable (Int, Int) -> Void)? {
        let line = ProgressLine()
        guard line.isEnabled else { return nil }
        return { done, total in
            line.update("\(label): \(done)/\(total)", force: done >= total)
            if done >= total { line.finish() }
        }
    }

    /// Clears the line, leaving the terminal as it was.
    func finish() {
        guard isEnabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }

    /// Runs `body` while a background thread shows `describe(elapsed seconds)` five times a
    /// second: for work that reports nothing itself (a copy, a call to the server).
    func ticking<T>(_ describe: @escaping @Sendable (Double) -> String, _ body: () async throws -> T) async throws -> T {
        guard isEnabled else { return try await body() }
        let stop = StopFlag()
        let start = Date()
        let thread = Thread { [self] in
            while !stop.value.load(ordering: .relaxed) {
                update(describe(Date().timeIntervalSince(start)), force: true)
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        thread.start()
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        stop.value.store(true, ordering: .relaxed)
        // Let the thread see the flag (it draws at most once more) before clearing the line.
        try? await Task.sleep(for: .milliseconds(250))
        finish()
        return try result.get()
    }

    /// A byte count for people: `812 B`, `4.0 KiB`, `12.5 MiB`.
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// The size of a file, or 0 when it does not exist (yet).
    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}

/// A flag a background thread polls to know when to stop.
private final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
