import Testing
import TranscriptStorage

@Suite("Environment: put, get, delete")
struct EnvironmentTests {
    @Test("a value written is read back, in the same transaction and after commit")
    func putGetRoundTrip() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            let seenInside = try env.write { txn in
                try txn.put(bytes("value-1"), forKey: bytes("key-1"), in: items)
                return try txn.value(in: items, forKey: bytes("key-1"))
            }
            #expect(seenInside == bytes("value-1"))
            let seenAfter = try env.read { try $0.value(in: items, forKey: bytes("key-1")) }
            #expect(seenAfter == bytes("value-1"))
        }
    }

    @Test("named databases are separate key spaces")
    func databasesAreSeparate() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { txn in
                try txn.put(bytes("in items"), forKey: bytes("k"), in: env["items"])
                try txn.put(bytes("in other"), forKey: bytes("k"), in: env["other"])
            }
            try env.read { txn throws in
                #expect(try txn.value(in: env["items"], forKey: bytes("k")) == bytes("in items"))
                #expect(try txn.value(in: env["other"], forKey: bytes("k")) == bytes("in other"))
            }
            #expect(env["items"] != env["other"])
            #expect(env["items"].name == "items")
        }
    }

    @Test("a missing key reads as nil and the body is not called")
    func missingKeyIsNil() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { _ = try $0.put(bytes("x"), forKey: bytes("present"), in: env["items"]) }
            var called = false
            let result: Int? = try env.read { txn in
                try txn.withValue(in: env["items"], forKey: bytes("absent")) { _ in
                    called = true
                    return 1
                }
            }
            #expect(result == nil)
            #expect(!called)
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("presen")) } == nil)
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("present!")) } == nil)
        }
    }

    @Test("withValue lends the stored bytes to its body")
    func withValueLendsBytes() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let value = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
            try env.write { _ = try $0.put(value, forKey: bytes("k"), in: env["items"]) }
            let summary = try env.read { txn in
                try txn.withValue(in: env["items"], forKey: bytes("k")) { buffer in
                    (buffer.count, buffer.reduce(0) { $0 &+ Int($1) })
                }
            }
            #expect(summary?.0 == 1000)
            #expect(summary?.1 == value.reduce(0) { $0 &+ Int($1) })
        }
    }

    @Test("overwrite: false keeps the old value and reports false; the default replaces it")
    func overwriteFlag() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            let results = try env.write { txn in
                [
                    try txn.put(bytes("first"), forKey: bytes("k"), in: items, overwrite: false),
                    try txn.put(bytes("second"), forKey: bytes("k"), in: items, overwrite: false),
                ]
            }
            #expect(results == [true, false])
            #expect(try env.read { try $0.value(in: items, forKey: bytes("k")) } == bytes("first"))

            let replaced = try env.write { try $0.put(bytes("third"), forKey: bytes("k"), in: items) }
            #expect(replaced)
            #expect(try env.read { try $0.value(in: items, forKey: bytes("k")) } == bytes("third"))
            #expect(try env.read { try $0.entryCount(in: items) } == 1)
        }
    }

    @Test("delete removes an entry and reports whether there was one")
    func deleteEntry() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            try env.write { txn in
                for index in 0..<5 { try txn.put(bytes("v\(index)"), forKey: bytes("k\(index)"), in: items) }
            }
            let outcomes = try env.write { txn in
                [try txn.delete(forKey: bytes("k2"), in: items), try txn.delete(forKey: bytes("k2"), in: items)]
            }
            #expect(outcomes == [true, false])
            #expect(try env.read { try $0.value(in: items, forKey: bytes("k2")) } == nil)
            #expect(try env.read { try $0.value(in: items, forKey: bytes("k3")) } == bytes("v3"))
            #expect(try env.read { try $0.entryCount(in: items) } == 4)
        }
    }

    @Test("entryCount follows puts, overwrites, deletes and removeAll")
    func entryCount() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            #expect(try env.read { try $0.entryCount(in: items) } == 0)
            try env.write { txn in
                for index in 0..<100 { try txn.put(bytes("v"), forKey: bytes("key-\(index)"), in: items) }
                try txn.put(bytes("again"), forKey: bytes("key-5"), in: items)
                #expect(try txn.entryCount(in: items) == 100)
            }
            try env.write { _ = try $0.put(bytes("o"), forKey: bytes("o"), in: env["other"]) }
            #expect(try env.read { try $0.entryCount(in: items) } == 100)
            try env.write { try $0.removeAll(in: items) }
            #expect(try env.read { try $0.entryCount(in: items) } == 0)
            #expect(try env.read { try $0.entryCount(in: env["other"]) } == 1)
        }
    }

    @Test("empty values and binary keys round-trip")
    func emptyAndBinary() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let binaryKey: [UInt8] = [0, 0xFF, 0, 1]
            try env.write { txn in
                try txn.put([], forKey: bytes("empty"), in: env["items"])
                try txn.put([0, 0, 0], forKey: binaryKey, in: env["items"])
            }
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("empty")) } == [])
            #expect(try env.read { try $0.value(in: env["items"], forKey: binaryKey) } == [0, 0, 0])
            #expect(try env.read { try $0.value(in: env["items"], forKey: [0, 0xFF, 0]) } == nil)
        }
    }

    @Test("write and read return what their body returns")
    func bodiesReturnValues() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let written = try env.write { _ in "done" }
            let count = try env.read { try $0.entryCount(in: env["items"]) + 41 }
            #expect(written == "done")
            #expect(count == 41)
        }
    }

    @Test("committed data survives closing and reopening the environment")
    func reopenPersists() throws {
        try withTemporaryDirectory { directory in
            do {
                var options = testOptions()
                options.durable = true
                let env = try openEnvironment(in: directory, options: options)
                try env.write { txn in
                    for index in 0..<50 { try txn.put(bytes("value \(index)"), forKey: bytes("k\(index)"), in: env["items"]) }
                }
            }
            let reopened = try openEnvironment(in: directory)
            #expect(try reopened.read { try $0.entryCount(in: reopened["items"]) } == 50)
            #expect(try reopened.read { try $0.value(in: reopened["items"], forKey: bytes("k49")) } == bytes("value 49"))
        }
    }

    @Test("an environment can be opened with a database it did not have before")
    func reopenWithMoreDatabases() throws {
        try withTemporaryDirectory { directory in
            do {
                let env = try Environment(path: directory + "/store", databases: ["items"], options: testOptions())
                try env.write { _ = try $0.put(bytes("v"), forKey: bytes("k"), in: env["items"]) }
            }
            let env = try Environment(path: directory + "/store", databases: ["items", "audit"], options: testOptions())
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("k")) } == bytes("v"))
            #expect(try env.read { try $0.entryCount(in: env["audit"]) } == 0)
        }
    }

    @Test("opening under a missing parent directory throws noSuchFile")
    func missingParent() throws {
        try withTemporaryDirectory { directory in
            _ = #expect(throws: LMDBError.noSuchFile) {
                _ = try Environment(path: directory + "/missing/store", databases: ["items"], options: testOptions())
            }
        }
    }

    @Test("usage reports the page size and grows with data")
    func usage() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let before = env.usage
            try env.write { txn in
                for index in 0..<64 { try txn.put([UInt8](repeating: 1, count: 4096), forKey: bytes("k\(index)"), in: env["items"]) }
            }
            let after = env.usage
            #expect(before.pageSize >= 4096)
            #expect(after.usedBytes >= before.usedBytes + 64 * 4096)
            #expect(after.usedBytes <= after.mapSize)
            #expect(after.mapSize == env.mapSize)
            try env.sync()
        }
    }
}
