import Foundation
import Testing
@testable import TranscriptStorage
import TranscriptTestSupport

/// `CheckpointKeepingCrashTests` takes its images inside the checkpoint; this suite looks at the
/// records written after it. After a checkpoint that keeps records, the next
/// record must go past them (`writeOffset`) and go on with their sequence (`nextSequence`):
/// recovery resets `data.mdb` to the checkpoint's snapshot, which holds none of the carried
/// writes, and replays the new generation from its first record. Until the next checkpoint,
/// a crash (of the process, or a power loss that tears the pages written since) must find
/// every write in that generation.
@Suite("Environment: writes logged after a checkpoint that kept carried writes")
struct CheckpointKeepingAfterTests {
    typealias Images = RedoLogTests

    @Test("writes logged after a checkpoint that kept carried records survive a process crash and a power loss before the next checkpoint")
    func writesAfterKeepingCheckpoint() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 256 << 10))
            defer { try? env.publish() }
            let pageSize = env.usage.pageSize
            // data.mdb as the keeping checkpoint flushed it: what a power loss leaves of it.
            var checkpoint: [UInt8]?
            var generation: UInt64?
            env.checkpointKeepingStep = { step in
                guard step == .headerFlushed, checkpoint == nil else { return }
                checkpoint = try? Images.file(directory, "data.mdb")
                generation = (try? Images.file(directory, "redo.log")).map(Images.newestGeneration)
            }
            try CarryTests.carry(env, "c", 3)
            try #require(env.isCarrying)
            // The first run fills the map (the growth's checkpoint keeps the carried records);
            // the second writes something small, which the log takes.
            var runs = 0
            try env.write(carrying: true) { txn in
                runs += 1
                let value = runs == 1 ? [UInt8](repeating: 0xB6, count: 300 << 10) : bytes("small")
                try txn.put(value, forKey: bytes("after"), in: env["items"])
            }
            try #require(runs >= 2, "the map did not fill under the carried writes")
            let atCheckpoint = try #require(checkpoint, "no checkpoint kept records")
            // Then a few writes that do not carry: committed, and logged.
            for index in 0..<3 {
                try env.write { txn in try txn.put(bytes("later \(index)"), forKey: bytes("later-\(index)"), in: env["items"]) }
            }
            var expected = CarryTests.expected("c", 3)
            expected["after"] = bytes("small")
            for index in 0..<3 { expected["later-\(index)"] = bytes("later \(index)") }
            #expect(CarryTests.items(try Images.flatten(env)) == expected)
            let log = try Images.file(directory, "redo.log")
            try #require(Images.newestGeneration(log) == generation,
                         "a checkpoint came after the keeping one: the images below would test nothing")

            #expect(CarryTests.items(try Images.entries(of: Images.processCrashImage(directory))) == expected,
                    "process crash")
            let later = try Images.file(directory, "data.mdb")
            #expect(CarryTests.items(try Images.entries(of: Images.image(dataFile: atCheckpoint, log: log))) == expected,
                    "power loss")
            for seed: UInt64 in 1...4 {
                let torn = Images.tornDataFile(checkpoint: atCheckpoint, later: later, pageSize: pageSize, seed: seed)
                #expect(CarryTests.items(try Images.entries(of: Images.image(dataFile: torn, log: log))) == expected,
                        "power loss, torn pages, seed \(seed)")
            }
        }
    }
}
