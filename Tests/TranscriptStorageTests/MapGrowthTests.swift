import Testing
import TranscriptStorage

@Suite("Map growth")
struct MapGrowthTests {
    static let tinyMap = 128 << 10

    /// A value of `size` bytes whose content depends on `index`, so a mix-up is detectable.
    static func value(_ index: Int, size: Int) -> [UInt8] {
        var value = [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 37 &+ 11), count: size)
        withUnsafeBytes(of: Int64(index).bigEndian) { header in
            for offset in 0..<min(8, size) { value[offset] = header[offset] }
        }
        value[size - 1] = UInt8(truncatingIfNeeded: index >> 8)
        return value
    }

    static func key(_ index: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
    }

    @Test("20 MiB written into a 128 KiB map grows it, and every byte is there after reopening")
    func growsAndPersists() throws {
        try withTemporaryDirectory { directory in
            let transactions = 40
            let perTransaction = 16
            let size = 32 << 10
            var invocations = 0
            let grownSize: Int
            do {
                let env = try openEnvironment(in: directory, options: testOptions(initialMapSize: Self.tinyMap))
                #expect(env.mapSize < 1 << 20)
                for batch in 0..<transactions {
                    try env.write { txn in
                        invocations += 1
                        for slot in 0..<perTransaction {
                            let index = batch * perTransaction + slot
                            try txn.put(Self.value(index, size: size), forKey: Self.key(index), in: env["items"])
                        }
                    }
                }
                grownSize = env.mapSize
                #expect(grownSize >= transactions * perTransaction * size)
                #expect(env.usage.usedBytes <= grownSize)
            }
            // A write was run again after at least one growth.
            #expect(invocations > transactions)

            let env = try openEnvironment(in: directory, options: testOptions(initialMapSize: Self.tinyMap))
            #expect(env.mapSize >= env.usage.usedBytes)
            let count = try env.read { try $0.entryCount(in: env["items"]) }
            #expect(count == transactions * perTransaction)
            var mismatches = 0
            try env.read { txn in
                for index in 0..<(transactions * perTransaction) {
                    let stored = try txn.value(in: env["items"], forKey: Self.key(index))
                    if stored != Self.value(index, size: size) { mismatches += 1 }
                }
            }
            #expect(mismatches == 0)
            // And it can still grow after reopening.
            try env.write { txn in
                for index in 0..<64 {
                    try txn.put(Self.value(-index, size: size), forKey: bytes("after-\(index)"), in: env["other"])
                }
            }
            #expect(try env.read { try $0.entryCount(in: env["other"]) } == 64)
        }
    }

    @Test("one transaction larger than several doublings of the map commits once")
    func singleLargeTransaction() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory, options: testOptions(initialMapSize: Self.tinyMap))
            let large = Self.value(1, size: 4 << 20)
            var invocations = 0
            let result = try env.write { txn in
                invocations += 1
                try txn.put(large, forKey: bytes("large"), in: env["items"])
                try txn.put(bytes("small"), forKey: bytes("small"), in: env["items"])
                return invocations
            }
            #expect(result == invocations)
            #expect(invocations > 1)
            #expect(env.mapSize > 4 << 20)
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("large")) } == large)
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 2)
        }
    }

    @Test("a map that may not grow further reports mapFull and commits nothing")
    func maximumReached() throws {
        try withTemporaryDirectory { directory in
            var options = testOptions(initialMapSize: Self.tinyMap)
            options.maximumMapSize = 2 * Self.tinyMap
            let env = try openEnvironment(in: directory, options: options)
            try env.write { _ = try $0.put(bytes("fits"), forKey: bytes("small"), in: env["items"]) }
            #expect(throws: LMDBError.mapFull) {
                try env.write { txn in
                    for index in 0..<16 {
                        try txn.put(Self.value(index, size: 32 << 10), forKey: Self.key(index), in: env["items"])
                    }
                }
            }
            #expect(env.mapSize <= options.maximumMapSize)
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 1)
            // Still usable for what fits.
            try env.write { _ = try $0.put(bytes("also fits"), forKey: bytes("small2"), in: env["items"]) }
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 2)
        }
    }
}
