import Foundation
import Synchronization
import Testing
import TranscriptTestSupport
@testable import TranscriptStorage

/// A map with less than its wanted room free stops the carrier from carrying writes (every
/// write is then committed on its own); the carrier grows it between writes, before a write
/// finds it full, so that it goes on carrying.
@Suite("Environment: room in the map")
struct MapRoomTests {
    typealias Images = RedoLogTests

    /// What a run of carrying writes (eight 2 KiB values each, published when due) saw.
    struct Run {
        /// Writes whose body ran more than once: they found the map full.
        var fullMapRetries = 0
        /// Map sizes, in order, after each write.
        var mapSizes: [Int] = []
        /// Whether each write was left carried.
        var carried: [Bool] = []
        var written: [String: [UInt8]] = [:]
    }

    /// Carrying writes, on the calling thread as on the writer's, while `more(index)` of the
    /// next one holds; then the carried writes are published.
    static func carryWrites(_ env: Environment, while more: (_ index: Int) -> Bool) throws -> Run {
        var run = Run()
        var index = 0
        while more(index) {
            defer { index += 1 }
            var bodies = 0
            let keys = (0..<8).map { "w\(index)-\($0)" }
            try env.write(carrying: true) { txn in
                bodies += 1
                for (slot, key) in keys.enumerated() {
                    try txn.put([UInt8](repeating: UInt8(slot), count: 2048), forKey: bytes(key), in: env["items"])
                }
            }
            for (slot, key) in keys.enumerated() { run.written[key] = [UInt8](repeating: UInt8(slot), count: 2048) }
            if bodies > 1 { run.fullMapRetries += 1 }
            run.carried.append(env.isCarrying)
            run.mapSizes.append(env.mapSize)
            if env.isPublicationDue { try env.publish() }
        }
        try env.publish()
        return run
    }

    @Test("the map grows before a write finds it full, and writes are carried again after it grows")
    func growsBeforeFull() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 1 << 20))
            let initial = env.mapSize
            // ≈ 2.4 MiB of values: the 1 MiB map must grow at least twice.
            let run = try Self.carryWrites(env) { $0 < 150 }
            #expect(run.fullMapRetries == 0, "a write found the map full")
            #expect(env.mapSize >= 4 * initial)
            // After each growth, the next writes are carried again.
            let grewAt = run.mapSizes.indices.dropFirst().filter { run.mapSizes[$0] > run.mapSizes[$0 - 1] }
            #expect(!grewAt.isEmpty)
            // A write finding the map cramped is committed on its own and grows it: one per growth.
            #expect(run.carried.filter { !$0 }.count <= grewAt.count, "\(run.carried)")
            for index in grewAt where index + 1 < run.carried.count {
                #expect(run.carried[index + 1], "write \(index + 1), after the map grew, was not carried")
            }
            let usage = env.usage
            #expect(usage.mapSize - usage.usedBytes >= Environment.wantedRoom(mapSize: usage.mapSize))
            let stored = try env.read { txn in
                try run.written.keys.map { try txn.value(in: env["items"], forKey: bytes($0)) }
            }
            #expect(stored == run.written.keys.map { run.written[$0] })
        }
    }

    @Test("without growing early, the same writes stop being carried and one finds the map full")
    func controlGrowsOnlyWhenFull() throws {
        try withTemporaryDirectory { directory in
            var options = Images.durable(initialMapSize: 1 << 20)
            options.growsBeforeFull = false
            let env = try openEnvironment(in: directory, options: options)
            let run = try Self.carryWrites(env) { $0 < 150 }
            #expect(run.fullMapRetries > 0, "no write found the map full: the case above would test nothing")
            // Between a quarter free and full, writes were committed one by one: more of them
            // than the map grew.
            let growths = Set(run.mapSizes).count - 1
            #expect(run.carried.filter { !$0 }.count > growths + 5, "\(run.carried)")
        }
    }

    @Test("writes go on while a long read (a backup's copy) holds its snapshot, the map short of room")
    func writesGoOnBesideLongReader() async throws {
        try await withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 1 << 20))
            let release = DispatchSemaphore(value: 0)
            let reading = DispatchSemaphore(value: 0)
            let readerDone = Atomic<Bool>(false)
            // A read as long as an online backup's: it holds its snapshot until released.
            Thread {
                _ = try? env.read { _ in
                    reading.signal()
                    release.wait()
                }
                readerDone.store(true, ordering: .releasing)
            }.start()
            reading.wait()
            // On one thread, as the writer's: carrying writes until the map is short of its
            // wanted room, then three more, which fit in the room left.
            let writesDone = Atomic<Bool>(false)
            let failure = Mutex<String?>(nil)
            Thread {
                var shortOfRoom = 0
                do {
                    _ = try Self.carryWrites(env) { _ in
                        let usage = env.usage
                        if usage.mapSize - usage.usedBytes < Environment.wantedRoom(mapSize: usage.mapSize) { shortOfRoom += 1 }
                        return shortOfRoom <= 3
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                writesDone.store(true, ordering: .releasing)
            }.start()
            // A hang detector: growing the map would wait for the reader, which waits for us.
            let finished = try await eventually(within: 20) { writesDone.load(ordering: .acquiring) }
            release.signal()
            #expect(finished, "the writes waited for the reader")
            #expect(failure.withLock { $0 } == nil)
            #expect(try await eventually { writesDone.load(ordering: .acquiring) && readerDone.load(ordering: .acquiring) })
        }
    }

    @Test("a quarter of the map is wanted free, at most one step of growth (1 GiB)")
    func wantedRoom() {
        #expect(Environment.wantedRoom(mapSize: 1 << 20) == 256 << 10)
        #expect(Environment.wantedRoom(mapSize: 1 << 30) == 256 << 20)
        #expect(Environment.wantedRoom(mapSize: 4 << 30) == 1 << 30)
        #expect(Environment.wantedRoom(mapSize: 100 << 30) == 1 << 30)
    }
}
