import Foundation
import Synchronization
import Testing
import TranscriptStorage

@Suite("Concurrent readers")
struct ConcurrentReadTests {
    static func counterBytes(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func counter(_ bytes: [UInt8]?) -> UInt64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func filler(_ value: UInt64) -> [UInt8] {
        [UInt8](repeating: UInt8(truncatingIfNeeded: value), count: 8 << 10)
    }

    /// State the writer and reader threads share; noncopyable atomics cannot be captured directly.
    final class Shared: Sendable {
        let writerDone = Atomic<Bool>(false)
        let problems = Mutex<[String]>([])
        let readsDone = Atomic<Int>(0)
    }

    /// Runs `body` on a new thread and signals `group` when it ends.
    static func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.start()
    }

    @Test("readers on many threads always see a consistent snapshot while a writer commits and the map grows")
    func readersSeeConsistentSnapshots() throws {
        try withTemporaryDirectory { directory in
            // A small map, so that the writer grows it while readers are active.
            let env = try openEnvironment(in: directory, options: testOptions(initialMapSize: 256 << 10))
            let items = env["items"]
            try env.write { txn in
                try txn.put(Self.counterBytes(0), forKey: bytes("a"), in: items)
                try txn.put(Self.counterBytes(0), forKey: bytes("b"), in: items)
                try txn.put(Self.filler(0), forKey: bytes("fill-0"), in: items)
            }
            let initialMapSize = env.mapSize
            let commits: UInt64 = 300
            let shared = Shared()
            let group = DispatchGroup()

            for reader in 0..<8 {
                Self.spawn(group) {
                    var lastSeen: UInt64 = 0
                    var reads = 0
                    // Keep reading until the writer has finished, and at least a few times.
                    while !shared.writerDone.load(ordering: .acquiring) || reads < 50 {
                        do {
                            let (a, b, fill) = try env.read { txn in
                                let a = Self.counter(try txn.value(in: items, forKey: bytes("a")))
                                let b = Self.counter(try txn.value(in: items, forKey: bytes("b")))
                                let fill = try a.flatMap { try txn.value(in: items, forKey: bytes("fill-\($0)")) }
                                return (a, b, fill)
                            }
                            guard let a, let b, a == b, fill == Self.filler(a) else {
                                shared.problems.withLock {
                                    $0.append("reader \(reader): a=\(String(describing: a)) b=\(String(describing: b)) fill=\(fill?.count ?? -1)")
                                }
                                break
                            }
                            if a < lastSeen {
                                shared.problems.withLock { $0.append("reader \(reader): went back from \(lastSeen) to \(a)") }
                                break
                            }
                            lastSeen = a
                        } catch {
                            shared.problems.withLock { $0.append("reader \(reader): \(error)") }
                            break
                        }
                        reads += 1
                    }
                    shared.readsDone.add(reads, ordering: .relaxed)
                }
            }

            Self.spawn(group) {
                defer { shared.writerDone.store(true, ordering: .releasing) }
                do {
                    for counter in 1...commits {
                        try env.write { txn in
                            try txn.put(Self.counterBytes(counter), forKey: bytes("a"), in: items)
                            try txn.put(Self.filler(counter), forKey: bytes("fill-\(counter)"), in: items)
                            try txn.put(Self.counterBytes(counter), forKey: bytes("b"), in: items)
                        }
                    }
                } catch {
                    shared.problems.withLock { $0.append("writer: \(error)") }
                }
            }
            group.wait()

            #expect(shared.problems.withLock { $0 } == [])
            #expect(shared.readsDone.load(ordering: .relaxed) >= 8 * 50)
            #expect(env.mapSize > initialMapSize)
            let final = try env.read { txn in
                (Self.counter(try txn.value(in: items, forKey: bytes("a"))), try txn.entryCount(in: items))
            }
            #expect(final.0 == commits)
            #expect(final.1 == Int(commits) + 3)
        }
    }

    @Test("every reader of a snapshot sees each filler value matching its counter")
    func readersSeeMatchingValues() async throws {
        try await withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            try env.write { txn in
                for counter in 0..<200 as Range<UInt64> {
                    try txn.put(Self.filler(counter), forKey: bytes("fill-\(counter)"), in: items)
                }
            }
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        try env.read { txn in
                            var bad = 0
                            for step in 0..<200 as Range<UInt64> {
                                let counter = (step + UInt64(task) * 13) % 200
                                if try txn.value(in: items, forKey: bytes("fill-\(counter)")) != Self.filler(counter) { bad += 1 }
                            }
                            return bad
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
        }
    }
}
