public import Logging
public import ServiceLifecycle
public import TranscriptVault
import Synchronization

/// The background work of a running server: erasure epochs (batched: at most `delay` after
/// the first pending shred), tenants whose shred waiting period is over, the retention
/// sweeper, and KEK rotations a crash interrupted.
public final class ErasureScheduler: Service, Sendable {
    let vault: Vault
    let delayMilliseconds: Int64
    let sweepIntervalMilliseconds: Int64
    let logger: Logger
    /// The time, in ms since the epoch, by which shreds, retention and epochs fall due.
    let clock: @Sendable () -> Int64
    private enum Wake {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        /// Poked while nobody waited: the next wait returns at once.
        case poked
    }

    private let wake = Mutex<Wake>(.idle)

    /// - Parameters:
    ///   - delayMilliseconds: the longest a shred waits for its erasure epoch (0: at once).
    ///   - sweepIntervalMilliseconds: how often due tenant shreds and retention are checked.
    ///   - clock: the time, in ms since the epoch, by which things fall due (tests pass a
    ///     future one to age what they stored).
    public init(
        vault: Vault, delayMilliseconds: Int64 = 60_000, sweepIntervalMilliseconds: Int64 = 60_000, logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Clock.nowMilliseconds() }
    ) {
        self.vault = vault
        self.delayMilliseconds = delayMilliseconds
        self.sweepIntervalMilliseconds = sweepIntervalMilliseconds
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        vault.onErasureRequested { [weak self] in self?.poke() }
        defer { vault.onErasureRequested(nil) }
        do {
            try await vault.resumeRotations()
        } catch {
            logger.error("resuming key rotations failed", metadata: ["error": "\(error)"])
        }
        await cancelWhenGracefulShutdown {
            var lastSweep: Int64 = 0
            while !Task.isCancelled {
                let now = self.clock()
                if now - lastSweep >= self.sweepIntervalMilliseconds {
                    lastSweep = now
                    await self.attempt("tenant shreds") { _ = try await self.vault.shredDueTenants(now: now) }
                    await self.attempt("retention sweep") { _ = try await self.vault.sweepRetention(now: now) }
                }
                if let since = try? self.vault.pendingErasureSince(), now - since >= self.delayMilliseconds {
                    await self.attempt("erasure epoch") {
                        let epoch = try await self.vault.runErasureEpoch()
                        self.logger.info("erasure epoch", metadata: ["tenants": "\(epoch.tenants.count)", "epoch": "\(epoch.epoch ?? 0)"])
                    }
                }
                await self.sleep(milliseconds: min(1000, max(self.delayMilliseconds, 10)))
            }
        }
    }

    private func attempt(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("\(what) failed", metadata: ["error": "\(error)"])
        }
    }

    /// Sleeps, waking early when a shred asks for an epoch or the task is cancelled.
    private func sleep(milliseconds: Int64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: .milliseconds(milliseconds)) }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.wake.withLock { state -> Bool in
                            if case .poked = state {
                                state = .idle
                                return true
                            }
                            state = .waiting(continuation)
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.poke()
                }
            }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func poke() {
        let waiting = wake.withLock { state -> CheckedContinuation<Void, Never>? in
            if case .waiting(let continuation) = state {
                state = .idle
                return continuation
            }
            state = .poked
            return nil
        }
        waiting?.resume()
    }
}
