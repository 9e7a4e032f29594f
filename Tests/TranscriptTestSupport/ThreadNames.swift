import Foundation

/// The name of the calling thread, as the kernel shows it (`/proc/thread-self/comm`).
public func currentThreadName() -> String {
    ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
}

/// The names of this process's threads.
public func processThreadNames() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap { task in
        try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
    }.map { $0.trimmingCharacters(in: .newlines) }
}
