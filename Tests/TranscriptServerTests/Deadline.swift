import Synchronization

/// Runs `body` and fails with a timeout if it has not finished after `seconds`.
///
/// The body keeps running if it ignores cancellation; the test fails instead of hanging, which
/// is what a hang in the server should look like here.
func within<T: Sendable>(
    _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        let work = Task {
            do {
                once.resume(.success(try await body()))
            } catch {
                once.resume(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            if once.resume(.failure(HarnessError("timed out after \(seconds) s waiting for \(what)"))) {
                work.cancel()
            }
        }
    }
}

/// Resumes a continuation exactly once, from whichever side finishes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let state = Mutex<(CheckedContinuation<T, any Error>?, Bool)>((nil, false))

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.0 = continuation }
    }

    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard !state.1, let continuation = state.0 else { return nil }
            state.1 = true
            return continuation
        }
        continuation?.resume(with: result)
        return continuation != nil
    }
}
