import Foundation
import Testing
import TranscriptStorage

/// Durable commits keep zeros written ahead of the last page in use, so that their flush
/// overwrites blocks instead of growing the file; LMDB never reads them.
@Suite("Environment: zeros ahead of the pages in use")
struct HeadroomTests {
    static func durableOptions() -> Environment.Options {
        var options = testOptions()
        options.durable = true
        return options
    }

    /// Writes `count` values of 4 KiB in separate commits; returns the usage afterwards.
    static func fill(_ directory: String, count: Int, options: Environment.Options) throws -> Environment.Usage {
        let env = try openEnvironment(in: directory, options: options)
        for index in 0..<count {
            try env.write { txn in
                try txn.put(value(index), forKey: bytes("key-\(index)"), in: env["items"])
            }
        }
        return env.usage
    }

    static func value(_ index: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(truncatingIfNeeded: index) | 1, count: 4096)
    }

    @Test("durable commits leave zeros past the last page in use, and the store reopens with every value")
    func zerosAhead() throws {
        try withTemporaryDirectory { directory in
            // About 2.4 MiB of pages: past the first 1 MiB step, so the zeros were extended.
            let usage = try Self.fill(directory, count: 600, options: Self.durableOptions())
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/store/data.mdb")))
            #expect(usage.usedBytes > 2 << 20)
            #expect(file.count > usage.usedBytes, "no zeros were written ahead of the pages in use")
            #expect(file[usage.usedBytes...].allSatisfy { $0 == 0 })

            let env = try openEnvironment(in: directory, options: Self.durableOptions())
            #expect(env.usage.usedBytes == usage.usedBytes)
            try env.read { txn throws in
                for index in 0..<600 {
                    #expect(try txn.value(in: env["items"], forKey: bytes("key-\(index)")) == Self.value(index))
                }
            }
            // Writing on into the zeros works as into a growing file.
            try env.write { txn in try txn.put(bytes("after"), forKey: bytes("after"), in: env["items"]) }
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("after")) } == bytes("after"))
        }
    }

    @Test("without durability no zeros are written")
    func noZerosWithoutDurability() throws {
        try withTemporaryDirectory { directory in
            let usage = try Self.fill(directory, count: 300, options: testOptions())
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/store/data.mdb")
            #expect((attributes[.size] as? Int ?? 0) <= usage.usedBytes)
        }
    }
}
