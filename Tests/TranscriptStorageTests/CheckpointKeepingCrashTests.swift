import Foundation
import Testing
@testable import TranscriptStorage
import TranscriptTestSupport

/// A checkpoint made while writes are carried (the map filled under them and grows) keeps their
/// records: it writes them past the current generation's records, flushes them, then writes the
/// header of the next generation, which names them. A process crash at either moment must find
/// every carried write: first in the current generation, then in the next one, whose snapshot
/// in `data.mdb` holds none of them.
@Suite("Environment: a crash inside a checkpoint that keeps carried writes")
struct CheckpointKeepingCrashTests {
    typealias Images = RedoLogTests

    @Test("a process crash once the kept records are flushed, or once the new header is, loses no carried write",
          arguments: [RedoLog.KeepingStep.recordsFlushed, .headerFlushed])
    func crashInsideKeepingCheckpoint(step: RedoLog.KeepingStep) throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable(initialMapSize: 256 << 10))
            defer { try? env.publish() }
            var image: String?
            env.checkpointKeepingStep = { seen in
                if seen == step && image == nil { image = try? Images.processCrashImage(directory) }
            }
            try CarryTests.carry(env, "c", 3)
            try #require(env.isCarrying)
            // Larger than the map's room: the put itself fails, with the writes still carried.
            let big = [UInt8](repeating: 0xB6, count: 300 << 10)
            var runs = 0
            let before = env.mapSize
            try env.write(carrying: true) { txn in
                runs += 1
                try txn.put(big, forKey: bytes("big"), in: env["items"])
            }
            try #require(runs >= 2 && env.mapSize > before, "the map did not fill under the carried writes")
            let taken = try #require(image, "no checkpoint kept records: the map did not fill while writes were carried")
            let recovered = CarryTests.items(try Images.entries(of: taken))
            for (key, value) in CarryTests.expected("c", 3) {
                #expect(recovered[key] == value, "\(key), carried and returned before the crash, is lost")
            }
            // The write that filled the map had not returned.
            #expect(recovered["big"] == nil)
            // And once the environment goes on, everything is there.
            var expected = CarryTests.expected("c", 3)
            expected["big"] = big
            try env.publish()
            #expect(CarryTests.items(try Images.flatten(env)) == expected)
        }
    }
}
