import Foundation
import Glibc
import Testing
@testable import TranscriptStorage
import TranscriptTestSupport

/// The moments around a checkpoint where a crash, or a failed flush, used to lose data that
/// had been made durable: during recovery's own replay, after a commit too large for the log,
/// and after a flush of `data.mdb` that failed. The images are built as in ``RedoLogTests``.
@Suite("Environment: recovery around checkpoints and failed flushes")
struct RecoveryEdgeTests {
    typealias Images = RedoLogTests

    /// 200 values under `k-<n>`, in one commit (so that few pages are free, and later
    /// commits soon need the pages they free), made durable in `data.mdb` by a checkpoint.
    static func checkpointed(_ env: Environment) throws {
        try env.write { txn in
            for index in 0..<200 {
                try txn.put([UInt8](repeating: UInt8(index % 251), count: 300), forKey: bytes("k-\(index)"), in: env["items"])
            }
        }
        try env.sync()
    }

    @Test("a crash during recovery, after the replay and before the open's checkpoint, loses nothing: the replay reuses no page of the checkpoint")
    func crashDuringReplay() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            try Self.checkpointed(env)
            let checkpoint = try Images.file(directory, "data.mdb")
            let generation = Images.newestGeneration(try Images.file(directory, "redo.log"))
            // Logged commits that free pages of the checkpoint's snapshot, which a replay with
            // nothing pinned would hand out again a few transactions later.
            for round in 0..<8 {
                try env.write { txn in
                    for index in round * 20..<(round + 1) * 20 { try txn.delete(forKey: bytes("k-\(index)"), in: env["items"]) }
                    for index in round * 30..<(round + 1) * 30 {
                        try txn.put([UInt8](repeating: UInt8(index % 251), count: 100), forKey: bytes("n-\(index)"), in: env["items"])
                    }
                }
            }
            let expected = try Images.flatten(env)
            #expect(expected.count == 200 - 160 + 240)
            try #require(Images.newestGeneration(try Images.file(directory, "redo.log")) == generation,
                         "a checkpoint came during the commits: the image below would not be a power loss")
            let log = try Images.file(directory, "redo.log")

            // A power loss leaves the checkpoint's file and the log. The open replays the log
            // into the file and flushes it; the crash comes before its new checkpoint's header
            // is written: the file as the replay left it, and the log as it was.
            let image = try Images.image(dataFile: checkpoint, log: log)
            defer { try? FileManager.default.removeItem(atPath: image) }
            do {
                let recovered = try openEnvironment(in: image, options: Images.durable())
                #expect(try Images.flatten(recovered) == expected)
            }
            try Data(log).write(to: URL(fileURLWithPath: image + "/store/redo.log"))
            let again = try openEnvironment(in: image, options: Images.durable())
            #expect(try Images.flatten(again) == expected, "the second recovery did not find the checkpoint whole")
        }
    }

    @Test("a power loss after a commit too large for the log, before its checkpoint, opens the checkpoint's snapshot even if the commit's meta page reached the disk")
    func oversizedCommitBeforeItsCheckpoint() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            let pageSize = env.usage.pageSize
            try Self.checkpointed(env)
            let checkpoint = try Images.file(directory, "data.mdb")
            let atCheckpoint = try Images.flatten(env)
            let log = try Images.file(directory, "redo.log")
            // Larger than the log's room: committed, then made durable by a checkpoint.
            let big = [UInt8](repeating: 0x5A, count: 64 << 10)
            try env.write { txn in
                for index in 0..<200 { try txn.put(bytes("over-\(index)"), forKey: bytes("k-\(index)"), in: env["items"]) }
                for index in 0..<8 { try txn.put(big, forKey: bytes("big-\(index)"), in: env["items"]) }
            }
            let later = try Images.file(directory, "data.mdb")
            // The power loss: of the commit, only its meta pages reached the disk (the
            // write-back may send them first); its other pages are the checkpoint's or zeros.
            var torn = checkpoint + [UInt8](repeating: 0, count: max(0, later.count - checkpoint.count))
            torn.replaceSubrange(0..<2 * pageSize, with: later[0..<2 * pageSize])
            #expect(try Images.entries(of: Images.image(dataFile: torn, log: log)) == atCheckpoint)
        }
    }

    @Test("after a flush of data.mdb fails, the store refuses every write, even one that writes nothing, and a crash loses no acknowledged commit")
    func failedCheckpointFlush() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Images.durable())
            // Flushed by the open's checkpoint: the file a power loss leaves if the pages
            // written since never reach the disk, as after the failed flush below.
            let checkpoint = try Images.file(directory, "data.mdb")
            try env.write { txn in try txn.put(bytes("before"), forKey: bytes("a"), in: env["items"]) }
            let flush = env.syncDataFile
            env.syncDataFile = { _ in EIO }
            #expect(throws: LMDBError(code: EIO)) { try env.sync() }
            // A later flush could succeed without the lost pages: no checkpoint may follow.
            env.syncDataFile = flush
            #expect(throws: LMDBError(code: EIO)) {
                try env.write { txn in try txn.put(bytes("after"), forKey: bytes("b"), in: env["items"]) }
            }
            #expect(throws: LMDBError(code: EIO)) {
                try env.write { txn in _ = try txn.value(in: env["items"], forKey: bytes("a")) }
            }
            #expect(throws: LMDBError(code: EIO)) { try env.sync() }
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("a")) } == bytes("before"))
            // The acknowledged commit is still in the log, which no new header has discarded.
            let log = try Images.file(directory, "redo.log")
            #expect(try Images.entries(of: Images.image(dataFile: checkpoint, log: log)) == ["items/a": bytes("before")])
        }
    }
}
