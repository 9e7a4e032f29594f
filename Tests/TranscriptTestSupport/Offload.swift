import Foundation

/// Runs blocking `body` on a thread of its own and returns its result, so that a test never
/// blocks Swift concurrency's cooperative pool (which the code under test shares).
public func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
