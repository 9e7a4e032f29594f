import Foundation

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
/// The bound is generous: it keeps a broken component from hanging the run, nothing more.
public func eventually(within seconds: Double = 20, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
}
