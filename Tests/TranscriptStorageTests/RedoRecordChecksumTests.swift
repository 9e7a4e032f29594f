import CTranscriptSodium
import Foundation
import Testing
import TranscriptStorage
import TranscriptTestSupport

/// A redo-log record's checksum is summed while its transaction runs (payload first, then the
/// 24-byte head; magic `TVR2`). Records of the earlier format (head first; magic `TVRR`) may still
/// wait in a log after an upgrade, and must replay; a record whose checksum does not match its
/// magic's order must not.
@Suite("Environment: redo-record checksums")
struct RedoRecordChecksumTests {
    static let recordsStart = 2 * 65536
    static let alignment = 4096

    /// BLAKE2b-128 of `pieces`, in order.
    static func blake2b(_ pieces: ArraySlice<UInt8>...) -> [UInt8] {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer { memory.deallocate() }
        let state = OpaquePointer(memory)
        crypto_generichash_init(state, nil, 0, 16)
        for piece in pieces {
            piece.withUnsafeBufferPointer { _ = crypto_generichash_update(state, $0.baseAddress, UInt64($0.count)) }
        }
        var out = [UInt8](repeating: 0, count: 16)
        crypto_generichash_final(state, &out, 16)
        return out
    }

    static func load32(_ log: [UInt8], _ offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(log[offset + $1]) << (8 * $1) }
    }

    /// The offsets of the records of the newest generation, written since the checkpoint that
    /// starts it right after the header slots.
    static func recordOffsets(_ log: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = recordsStart
        while offset + 40 <= log.count, isRedoRecordMagic(log[offset..<offset + 4]) {
            offsets.append(offset)
            offset += (40 + load32(log, offset + 4) + alignment - 1) / alignment * alignment
        }
        return offsets
    }

    /// Rewrites the record at `offset` with `magic` and the checksum of `order`.
    static func rewrite(_ log: inout [UInt8], at offset: Int, magic: String, headFirst: Bool) {
        log.replaceSubrange(offset..<offset + 4, with: Array(magic.utf8))
        let head = log[offset..<offset + 24]
        let payload = log[offset + 40..<offset + 40 + load32(log, offset + 4)]
        let sum = headFirst ? blake2b(head, payload) : blake2b(payload, head)
        log.replaceSubrange(offset + 24..<offset + 40, with: sum)
    }

    /// A checkpointed `data.mdb`, then five commits logged after it, where their records are in
    /// the log, and what they hold.
    static func fiveCommits(_ directory: String) throws
        -> (checkpoint: [UInt8], log: [UInt8], offsets: [Int], expected: [String: [UInt8]]) {
        let env = try openEnvironment(in: directory, options: RedoLogTests.durable())
        try env.sync()
        let checkpoint = try RedoLogTests.file(directory, "data.mdb")
        try RedoLogTests.putEach(env, prefix: "r", count: 5) { [UInt8](repeating: UInt8($0), count: 100) }
        let log = try RedoLogTests.file(directory, "redo.log")
        let offsets = recordOffsets(log)
        try #require(offsets.count == 5)
        return (checkpoint, log, offsets, try RedoLogTests.flatten(env))
    }

    @Test("records are written in the payload-first format, and each replays")
    func writtenPayloadFirst() throws {
        try withTemporaryDirectory { directory in
            let (checkpoint, log, offsets, expected) = try Self.fiveCommits(directory)
            for offset in offsets {
                #expect(Array(log[offset..<offset + 4]) == Array("TVR2".utf8))
                let head = log[offset..<offset + 24]
                let payload = log[offset + 40..<offset + 40 + Self.load32(log, offset + 4)]
                #expect(Array(log[offset + 24..<offset + 40]) == Self.blake2b(payload, head))
            }
            #expect(expected.count == 5)
            #expect(try RedoLogTests.entries(of: RedoLogTests.image(dataFile: checkpoint, log: log)) == expected)
        }
    }

    @Test("a log an earlier version wrote (head-first records), whole or followed by newer records, replays")
    func earlierFormatReplays() throws {
        try withTemporaryDirectory { directory in
            let (checkpoint, log, offsets, expected) = try Self.fiveCommits(directory)
            var old = log
            for offset in offsets { Self.rewrite(&old, at: offset, magic: "TVRR", headFirst: true) }
            #expect(try RedoLogTests.entries(of: RedoLogTests.image(dataFile: checkpoint, log: old)) == expected)
            // Upgraded between the second and third commit: both formats in one generation.
            var mixed = log
            for offset in offsets.prefix(2) { Self.rewrite(&mixed, at: offset, magic: "TVRR", headFirst: true) }
            #expect(try RedoLogTests.entries(of: RedoLogTests.image(dataFile: checkpoint, log: mixed)) == expected)
        }
    }

    @Test("a record whose checksum is in the other format's order ends the replay", arguments: ["TVR2", "TVRR"])
    func checksumOrderFollowsMagic(magic: String) throws {
        try withTemporaryDirectory { directory in
            let (checkpoint, log, offsets, expected) = try Self.fiveCommits(directory)
            var swapped = log
            // The third record claims one format and carries the other's checksum.
            Self.rewrite(&swapped, at: offsets[2], magic: magic, headFirst: magic == "TVR2")
            let restored = try RedoLogTests.entries(of: RedoLogTests.image(dataFile: checkpoint, log: swapped))
            #expect(restored == expected.filter { $0.key == "items/r-0" || $0.key == "items/r-1" })
        }
    }

    @Test("a nested transaction undone after its writes were summed leaves a record that replays")
    func undoneNestedTransaction() throws {
        struct Undo: Error {}
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: RedoLogTests.durable())
            try env.sync()
            let checkpoint = try RedoLogTests.file(directory, "data.mdb")
            try env.write { txn in
                try txn.put([UInt8](repeating: 1, count: 300), forKey: bytes("before"), in: env["items"])
                // Undone after two writes, each summed when it was recorded.
                #expect(throws: Undo.self) {
                    try txn.nested { inner in
                        try inner.put([UInt8](repeating: 2, count: 300), forKey: bytes("undone"), in: env["items"])
                        try inner.put(bytes("x"), forKey: bytes("undone too"), in: env["other"])
                        throw Undo()
                    }
                }
                try txn.put([UInt8](repeating: 3, count: 300), forKey: bytes("after"), in: env["items"])
                // A nested transaction that commits stays in the record.
                try txn.nested { inner in try inner.put(bytes("kept"), forKey: bytes("nested"), in: env["other"]) }
            }
            let expected = try RedoLogTests.flatten(env)
            #expect(Set(expected.keys) == ["items/before", "items/after", "other/nested"])
            let log = try RedoLogTests.file(directory, "redo.log")
            try #require(Self.recordOffsets(log).count == 1)
            #expect(try RedoLogTests.entries(of: RedoLogTests.image(dataFile: checkpoint, log: log)) == expected)
        }
    }
}
