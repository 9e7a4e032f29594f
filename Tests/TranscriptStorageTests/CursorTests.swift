import Testing
import TranscriptStorage

@Suite("Cursor")
struct CursorTests {
    /// Keys chosen so that byte order differs from insertion order and prefixes nest.
    static let keys: [[UInt8]] = [
        bytes("b/2"), bytes("a/1"), bytes("c"), bytes("b/10"), bytes("b"), bytes("b/1"),
        bytes("a/2"), [0x62, 0x2F, 0xFF], bytes("b0"), [0x00], bytes("a"),
    ]
    static var sortedKeys: [[UInt8]] { keys.sorted { $0.lexicographicallyPrecedes($1) } }

    func populated(_ directory: String) throws -> Environment {
        let env = try openEnvironment(in: directory)
        try env.write { txn in
            for key in Self.keys { try txn.put(key + [0x3D], forKey: key, in: env["items"]) }
        }
        return env
    }

    @Test("first then next visits every key in byte order, then ends")
    func forwardIteration() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let entries = try allEntries(env, env["items"])
            #expect(entries.map(\.key) == Self.sortedKeys)
            #expect(entries.allSatisfy { $0.value == $0.key + [0x3D] })
            let pastEnd = try env.read { txn in
                try txn.withCursor(env["items"]) { cursor in
                    _ = try cursor.last()
                    return try cursor.next()?.key.count
                }
            }
            #expect(pastEnd == nil)
        }
    }

    @Test("last then previous visits every key in reverse order, then ends")
    func backwardIteration() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let (visited, beforeFirst) = try env.read { txn in
                try txn.withCursor(env["items"]) { cursor in
                    var keys: [[UInt8]] = []
                    var entry = try cursor.last()
                    while let current = entry {
                        keys.append(Array(current.key))
                        entry = try cursor.previous()
                    }
                    _ = try cursor.first()
                    return (keys, try cursor.previous().map { Array($0.key) })
                }
            }
            #expect(visited == Self.sortedKeys.reversed())
            #expect(beforeFirst == nil)
        }
    }

    @Test(
        "seek(atLeast:) lands on the key itself or the next larger one",
        arguments: [
            (bytes("b/10"), bytes("b/10")),  // exact
            (bytes("b/0"), bytes("b/1")),  // between
            (bytes("b/"), bytes("b/1")),  // prefix of several
            ([0x00], [0x00]),  // smallest
            ([0x00, 0x00], bytes("a")),
            (bytes("bz"), bytes("c")),
        ])
    func seekAtLeast(target: [UInt8], expected: [UInt8]) throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let found = try env.read { txn in
                try txn.withCursor(env["items"]) { try $0.seek(atLeast: target).map { Array($0.key) } }
            }
            #expect(found == expected)
        }
    }

    @Test("seek(atLeast:) with an empty key starts at the first entry")
    func seekEmptyKey() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let found = try env.read { txn in
                try txn.withCursor(env["items"]) { try $0.seek(atLeast: []).map { Array($0.key) } }
            }
            #expect(found == Self.sortedKeys.first)
        }
    }

    @Test("seek(atLeast:) past the last key finds nothing")
    func seekPastEnd() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let found = try env.read { txn in
                try txn.withCursor(env["items"]) { try $0.seek(atLeast: bytes("d")).map { Array($0.key) } }
            }
            #expect(found == nil)
        }
    }

    @Test("seek then next after a seek continues from the found key")
    func seekThenMove() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let (after, before) = try env.read { txn in
                try txn.withCursor(env["items"]) { cursor in
                    _ = try cursor.seek(atLeast: bytes("b0"))
                    let after = try cursor.next().map { Array($0.key) }
                    _ = try cursor.seek(atLeast: bytes("b0"))
                    let before = try cursor.previous().map { Array($0.key) }
                    return (after, before)
                }
            }
            #expect(after == bytes("c"))
            #expect(before == [0x62, 0x2F, 0xFF])
        }
    }

    @Test("prefix iteration yields exactly the keys under the prefix")
    func prefixIteration() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let prefix = bytes("b/")
            let found = try env.read { txn in
                try txn.withCursor(env["items"]) { cursor in
                    var keys: [[UInt8]] = []
                    var entry = try cursor.seek(atLeast: prefix)
                    while let current = entry, current.key.hasPrefix(prefix) {
                        keys.append(Array(current.key))
                        entry = try cursor.next()
                    }
                    return keys
                }
            }
            #expect(found == [bytes("b/1"), bytes("b/10"), bytes("b/2"), [0x62, 0x2F, 0xFF]])
        }
    }

    @Test("an empty database has no first, last or seek result")
    func emptyDatabase() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let results = try env.read { txn in
                try txn.withCursor(env["items"]) { cursor in
                    [try cursor.first() == nil, try cursor.last() == nil, try cursor.seek(atLeast: bytes("a")) == nil]
                }
            }
            #expect(results == [true, true, true])
        }
    }

    @Test("deleteCurrent while iterating removes the prefix and nothing else")
    func deleteCurrentUnderPrefix() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            let prefix = bytes("b/")
            let deleted = try env.write { txn in
                try txn.withCursor(env["items"]) { cursor in
                    var count = 0
                    var entry = try cursor.seek(atLeast: prefix)
                    while let current = entry, current.key.hasPrefix(prefix) {
                        try cursor.deleteCurrent()
                        count += 1
                        entry = try cursor.next()
                    }
                    return count
                }
            }
            #expect(deleted == 4)
            let remaining = try allEntries(env, env["items"]).map(\.key)
            #expect(remaining == Self.sortedKeys.filter { !$0.starts(with: prefix) })
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == Self.keys.count - 4)
        }
    }

    @Test("deleteCurrent of every entry empties the database")
    func deleteEverything() throws {
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            try env.write { txn in
                try txn.withCursor(env["items"]) { cursor in
                    var entry = try cursor.first()
                    while entry != nil {
                        try cursor.deleteCurrent()
                        entry = try cursor.next()
                    }
                }
            }
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 0)
        }
    }

    @Test("deleteCurrent in a write that then throws deletes nothing")
    func deleteCurrentRolledBack() throws {
        struct Stop: Error {}
        try withTemporaryDirectory { directory in
            let env = try populated(directory)
            #expect(throws: Stop.self) {
                try env.write { txn in
                    try txn.withCursor(env["items"]) { cursor in
                        _ = try cursor.first()
                        try cursor.deleteCurrent()
                    }
                    throw Stop()
                }
            }
            #expect(try allEntries(env, env["items"]).map(\.key) == Self.sortedKeys)
        }
    }

    @Test("hasPrefix compares the leading bytes only")
    func hasPrefix() {
        let data: [UInt8] = [1, 2, 3]
        data.withUnsafeBytes { buffer in
            #expect(buffer.hasPrefix([]))
            #expect(buffer.hasPrefix([1]))
            #expect(buffer.hasPrefix([1, 2, 3]))
            #expect(!buffer.hasPrefix([1, 2, 3, 4]))
            #expect(!buffer.hasPrefix([2]))
            #expect(!buffer.hasPrefix([1, 3]))
        }
    }
}
