import Foundation
import Synchronization
import Testing
import TranscriptStorage
@testable import TranscriptVault
import TranscriptTestSupport

/// A write on another thread that starts waiting for the gate just as the writer carries a
/// batch. The publication delay is an hour here, as in PublicationDelayTests, so that a missing
/// wake-up shows as a stall (bounded by a generous liveness limit) instead of 2 ms.
@Suite("The writer's publication delay: a gate waiter racing a carry", .timeLimit(.minutes(3)))
struct PublicationGateRaceTests {
    private final class Shared: Sendable {
        let progress = Atomic<Int>(0)
        let goSignal = DispatchSemaphore(value: 0)
        let stop = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
    }

    /// A write on another thread that starts waiting for the gate while the writer thread is
    /// carrying its batch in (between `mayCarry`, which saw no thread waiting, and `carry`,
    /// which marks the writes unpublished) asks for no publication: it read `unpublished` as
    /// false. Before the delay the writer published right after its batch anyway; now it sleeps
    /// for `publicationDelay` with the gate held and that thread blocked behind it.
    @Test("a write on another thread racing the writer's carried batch is never left waiting for the publication delay")
    func gateWaiterRacingACarryIsWoken() async throws {
        let iterations = 10_000
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir, configure: { $0.durable = false; $0.publicationDelay = 3600 }) { vault in
                _ = try await offload { try vault.environment.read { _ in 0 } }
                let environment = vault.environment
                let shared = Shared()
                let other = Thread {
                    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
                    var done = 0
                    while !shared.stop.load(ordering: .acquiring) {
                        // One write per append, started after a varying delay, so that over
                        // the iterations it starts at every point of the writer thread's batch.
                        shared.goSignal.wait()
                        if shared.stop.load(ordering: .acquiring) { return }
                        state = state &* 6364136223846793005 &+ 1442695040888963407
                        let delay = DispatchTime.now().uptimeNanoseconds + (state >> 33) % 100_000
                        while DispatchTime.now().uptimeNanoseconds < delay {}
                        do {
                            try environment.write { _ in }
                        } catch {
                            shared.failure.withLock { $0 = "write failed: \(error)" }
                            return
                        }
                        done += 1
                        shared.progress.store(done, ordering: .releasing)
                    }
                }
                other.start()
                var stalled: Int?
                for index in 1...iterations {
                    shared.goSignal.signal()
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c\(index % 7)", messages: [sampleMessage("c", index)]))
                    // The other thread's write must finish; a stall this long means it waits
                    // for a publication nobody was asked for.
                    let deadline = Date().addingTimeInterval(20)
                    while shared.progress.load(ordering: .acquiring) < index && Date() < deadline
                            && shared.failure.withLock({ $0 }) == nil {
                        try await Task.sleep(for: .microseconds(20))
                    }
                    if shared.progress.load(ordering: .acquiring) < index {
                        stalled = index
                        break
                    }
                }
                shared.stop.store(true, ordering: .releasing)
                shared.goSignal.signal()
                // Unblocks a stalled thread: the next batch sees it waiting and commits.
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "last", messages: [sampleMessage("c", 0)]))
                while !other.isFinished { try await Task.sleep(for: .milliseconds(1)) }
                #expect(shared.failure.withLock { $0 } == nil)
                #expect(stalled == nil, "a write on another thread waited for the writer's publication delay (after append \(stalled ?? -1))")
            }
        }
    }
}
