import Foundation
import Testing
import TranscriptStorage
import TranscriptTestSupport

/// A durable environment logs each commit in `store/redo.log` and flushes only that; LMDB's own
/// pages reach the disk at checkpoints. These tests build the files a crash would leave and
/// check that opening them restores every commit.
///
/// - A **process crash** leaves the page cache: `data.mdb` as the process wrote it, and the log.
/// - A **power loss** leaves `data.mdb` as of the last checkpoint, with any of the pages written
///   since torn or not, and the log (flushed at every commit).
@Suite("Environment: redo log and crash recovery")
struct RedoLogTests {
    static func durable(initialMapSize: Int = 8 << 20) -> Environment.Options {
        var options = testOptions(initialMapSize: initialMapSize)
        options.durable = true
        return options
    }

    static func file(_ directory: String, _ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/store/" + name)))
    }

    /// Writes `dataFile` and `log` as the store of a new directory, as a crash would leave them.
    static func image(dataFile: [UInt8], log: [UInt8]?) throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tvault-storage-tests-image-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/store", withIntermediateDirectories: true)
        try Data(dataFile).write(to: URL(fileURLWithPath: directory + "/store/data.mdb"))
        if let log { try Data(log).write(to: URL(fileURLWithPath: directory + "/store/redo.log")) }
        return directory
    }

    /// What a process crash leaves of the open environment in `directory`: its `data.mdb` as
    /// the page cache holds it, and its log.
    static func processCrashImage(_ directory: String) throws -> String {
        try image(dataFile: file(directory, "data.mdb"), log: file(directory, "redo.log"))
    }

    /// Opens `image` and returns every entry of both databases.
    static func entries(of image: String, options: Environment.Options = durable()) throws -> [String: [UInt8]] {
        defer { try? FileManager.default.removeItem(atPath: image) }
        let env = try openEnvironment(in: image, options: options)
        return try flatten(env)
    }

    static func flatten(_ env: Environment) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for name in testDatabases {
            for entry in try allEntries(env, env[name]) {
                result[name + "/" + String(decoding: entry.key, as: UTF8.self)] = entry.value
            }
        }
        return result
    }

    /// A power loss: each page is the checkpoint's version or the later one, at random; pages
    /// past the checkpoint's end are the later version or zeros.
    static func tornDataFile(checkpoint: [UInt8], later: [UInt8], pageSize: Int, seed: UInt64) -> [UInt8] {
        var mixer = SplitMix64(state: seed)
        var result = [UInt8](repeating: 0, count: max(checkpoint.count, later.count))
        for start in stride(from: 0, to: result.count, by: pageSize) {
            let end = min(start + pageSize, result.count)
            let takeLater = mixer.next() % 2 == 0
            let source = takeLater ? later : checkpoint
            if end <= source.count { result.replaceSubrange(start..<end, with: source[start..<end]) }
        }
        return result
    }

    /// The newest generation of a log's two header slots (64 KiB each; the generation is the
    /// little-endian `UInt64` at offset 8 of a slot).
    static func newestGeneration(_ log: [UInt8]) -> UInt64 {
        (0..<2).map { slot in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(log[slot * 65536 + 8 + $1]) << (8 * UInt64($1)) }
        }.max() ?? 0
    }

    /// Puts `count` values under `prefix-<n>`, one commit each.
    static func putEach(_ env: Environment, prefix: String, count: Int, value: (Int) -> [UInt8]) throws {
        for index in 0..<count {
            try env.write { txn in try txn.put(value(index), forKey: bytes("\(prefix)-\(index)"), in: env["items"]) }
        }
    }

    @Test("after a process crash, opening the files left behind restores every commit")
    func processCrash() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            try Self.putEach(env, prefix: "k", count: 300) { bytes("value-\($0)") }
            try env.write { txn in
                try txn.put(bytes("x"), forKey: bytes("gone"), in: env["other"])
                try txn.delete(forKey: bytes("k-7"), in: env["items"])
            }
            try env.write { txn in try txn.removeAll(in: env["other"]) }
            try env.write { txn in try txn.put(bytes("kept"), forKey: bytes("after-clear"), in: env["other"]) }
            let expected = try Self.flatten(env)
            #expect(expected.count == 300)
            #expect(expected["items/k-7"] == nil)
            #expect(expected["other/after-clear"] == bytes("kept"))

            #expect(try Self.entries(of: Self.processCrashImage(directory)) == expected)
        }
    }

    @Test("after a power loss, the checkpoint and the log restore commits that data.mdb alone lacks")
    func powerLoss() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            let pageSize = env.usage.pageSize
            try Self.putEach(env, prefix: "k", count: 200) { [UInt8](repeating: UInt8($0 % 251), count: 300) }
            try env.sync()
            let checkpoint = try Self.file(directory, "data.mdb")
            let atCheckpoint = try Self.flatten(env)
            let generation = Self.newestGeneration(try Self.file(directory, "redo.log"))

            // Later commits rewrite pages of the checkpoint's snapshot (copy-on-write), delete
            // through a cursor, clear a database, and add pages past the checkpoint's end. They
            // are few and large enough to fit in the smallest log (three quarters of 256 KiB),
            // so that no checkpoint comes in between: the power loss is then one that leaves
            // `checkpoint` as the durable `data.mdb`.
            try env.write { txn in
                for index in 0..<200 {
                    try txn.put([UInt8](repeating: UInt8((index + 7) % 251), count: 300), forKey: bytes("k-\(index)"), in: env["items"])
                }
            }
            try env.write { txn in
                try txn.withCursor(env["items"]) { cursor in
                    // k-1, k-10…k-19, k-100…k-199: the way a shred deletes a prefix.
                    let prefix = bytes("k-1")
                    var entry = try cursor.seek(atLeast: prefix)
                    while let current = entry, current.key.hasPrefix(prefix) {
                        try cursor.deleteCurrent()
                        entry = try cursor.seek(atLeast: prefix)
                    }
                }
            }
            for batch in 0..<2 {
                try env.write { txn in
                    for index in batch * 20..<(batch + 1) * 20 {
                        try txn.put([UInt8](repeating: UInt8(index % 251), count: 2000), forKey: bytes("new-\(index)"), in: env["items"])
                    }
                }
            }
            try env.write { txn in try txn.put(bytes("o"), forKey: bytes("o"), in: env["other"]) }
            try env.write { txn in try txn.removeAll(in: env["other"]) }
            let expected = try Self.flatten(env)
            #expect(expected.count == 200 - 111 + 40)
            #expect(expected["items/k-2"] == [UInt8](repeating: 9, count: 300))
            try #require(Self.newestGeneration(try Self.file(directory, "redo.log")) == generation,
                         "a checkpoint came during the later commits: the image below would not be a power loss")

            let later = try Self.file(directory, "data.mdb")
            let log = try Self.file(directory, "redo.log")
            // Without the log, the checkpoint is all there is: the later commits are missing.
            #expect(try Self.entries(of: Self.image(dataFile: checkpoint, log: nil)) == atCheckpoint)
            // With it, they are all back, however the pages written since were torn.
            #expect(try Self.entries(of: Self.image(dataFile: checkpoint, log: log)) == expected)
            for seed: UInt64 in 1...6 {
                let torn = Self.tornDataFile(checkpoint: checkpoint, later: later, pageSize: pageSize, seed: seed)
                #expect(try Self.entries(of: Self.image(dataFile: torn, log: log)) == expected, "seed \(seed)")
            }
        }
    }

    @Test("a damaged record ends the replay: the commits before it are restored, it and later ones are not")
    func damagedRecord() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            try env.sync()
            let checkpoint = try Self.file(directory, "data.mdb")
            try Self.putEach(env, prefix: "r", count: 5) { bytes("value-\($0)") }
            var log = try Self.file(directory, "redo.log")
            // Records start after the two 64 KiB header slots, each on its own 4 KiB block here.
            let third = 2 * 65536 + 2 * 4096
            log[third + 60] ^= 0x01
            let restored = try Self.entries(of: Self.image(dataFile: checkpoint, log: log))
            #expect(restored == ["items/r-0": bytes("value-0"), "items/r-1": bytes("value-1")])
        }
    }

    @Test("a crash that tears a checkpoint's header loses nothing: the header before it and its records still apply")
    func tornCheckpointHeader() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            try Self.putEach(env, prefix: "t", count: 20) { bytes("v\($0)") }
            let expected = try Self.flatten(env)
            // The crash comes as the checkpoint writes its header: data.mdb is flushed, the
            // header is torn, no record of the new generation exists yet.
            try env.sync()
            let dataFile = try Self.file(directory, "data.mdb")
            var log = try Self.file(directory, "redo.log")
            // Two 64 KiB header slots; a generation's header is in the slot of its parity.
            let newest = Int(Self.newestGeneration(log) % 2)
            log[newest * 65536 + 100] ^= 0xFF
            #expect(try Self.entries(of: Self.image(dataFile: dataFile, log: log)) == expected)
        }
    }

    @Test("a nested transaction that threw leaves nothing in the log")
    func nestedUndoneIsNotReplayed() throws {
        struct Refused: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            try env.sync()
            let checkpoint = try Self.file(directory, "data.mdb")
            try env.write { txn in
                try txn.put(bytes("outer"), forKey: bytes("outer"), in: env["items"])
                #expect(throws: Refused.self) {
                    try txn.nested { inner in
                        try inner.put(bytes("inner"), forKey: bytes("inner"), in: env["items"])
                        try inner.delete(forKey: bytes("outer"), in: env["items"])
                        throw Refused()
                    }
                }
                _ = try txn.nested { inner in try inner.put(bytes("kept"), forKey: bytes("kept"), in: env["other"]) }
            }
            let restored = try Self.entries(of: Self.image(dataFile: checkpoint, log: Self.file(directory, "redo.log")))
            #expect(restored == ["items/outer": bytes("outer"), "other/kept": bytes("kept")])
        }
    }

    @Test("an environment opened without durability applies a log left behind, then removes it")
    func nonDurableOpenAppliesAndRemoves() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            try env.sync()
            let checkpoint = try Self.file(directory, "data.mdb")
            try Self.putEach(env, prefix: "d", count: 10) { bytes("v\($0)") }
            let expected = try Self.flatten(env)

            let image = try Self.image(dataFile: checkpoint, log: Self.file(directory, "redo.log"))
            defer { try? FileManager.default.removeItem(atPath: image) }
            do {
                let plain = try openEnvironment(in: image, options: testOptions())
                #expect(try Self.flatten(plain) == expected)
                #expect(!FileManager.default.fileExists(atPath: image + "/store/redo.log"))
                // A commit without the log; a stale log would undo it at the next durable open.
                try plain.write { txn in try txn.put(bytes("plain"), forKey: bytes("plain"), in: env["items"]) }
            }
            let reopened = try openEnvironment(in: image, options: Self.durable())
            #expect(try Self.flatten(reopened).count == expected.count + 1)
        }
    }

    @Test("commits far beyond the log's capacity are checkpointed on the way and all restored")
    func manyCheckpoints() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            // 1,500 records of one 4 KiB block each: many times the first 256 KiB of log.
            try Self.putEach(env, prefix: "m", count: 1500) { [UInt8](repeating: UInt8($0 % 255), count: 1000) }
            let expected = try Self.flatten(env)
            #expect(expected.count == 1500)
            // Filling again within seconds of a checkpoint doubles the log.
            #expect(try Self.file(directory, "redo.log").count > 2 * 65536 + (256 << 10))
            #expect(try Self.entries(of: Self.processCrashImage(directory)) == expected)
        }
    }

    @Test("a transaction larger than the log is made durable by a checkpoint")
    func oversizedTransaction() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable())
            let big = [UInt8](repeating: 0x5A, count: 64 << 10)
            try env.write { txn in
                for index in 0..<48 { try txn.put(big, forKey: bytes("big-\(index)"), in: env["items"]) }
            }
            // Flushed by the checkpoint: the file as it is now is the durable one.
            let durableFile = try Self.file(directory, "data.mdb")
            let restored = try Self.entries(of: Self.image(dataFile: durableFile, log: Self.file(directory, "redo.log")))
            #expect(restored.count == 48)
            #expect(restored["items/big-47"] == big)
        }
    }

    @Test("the map grows under a durable environment, and a crash image opens with every value")
    func mapGrowthWhileLogging() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: Self.durable(initialMapSize: 256 << 10))
            try Self.putEach(env, prefix: "g", count: 400) { [UInt8](repeating: UInt8($0 % 255), count: 8000) }
            #expect(env.mapSize > 256 << 10)
            let expected = try Self.flatten(env)
            #expect(expected.count == 400)
            #expect(try Self.entries(of: Self.processCrashImage(directory)) == expected)
        }
    }
}
