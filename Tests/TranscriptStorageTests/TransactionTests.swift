import Testing
import TranscriptStorage

@Suite("Transactions: commit, abort and nesting")
struct TransactionTests {
    struct Refused: Error, Equatable { var step: Int }

    @Test("a write whose body throws commits nothing and rethrows the error")
    func throwingWriteCommitsNothing() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { _ = try $0.put(bytes("kept"), forKey: bytes("before"), in: env["items"]) }
            #expect(throws: Refused(step: 1)) {
                try env.write { txn in
                    try txn.put(bytes("lost"), forKey: bytes("during"), in: env["items"])
                    try txn.put(bytes("changed"), forKey: bytes("before"), in: env["items"])
                    try txn.delete(forKey: bytes("before"), in: env["items"])
                    try txn.put(bytes("lost"), forKey: bytes("other"), in: env["other"])
                    throw Refused(step: 1)
                }
            }
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("before")) } == bytes("kept"))
            #expect(try env.read { try $0.value(in: env["items"], forKey: bytes("during")) } == nil)
            #expect(try env.read { try $0.entryCount(in: env["other"]) } == 0)
            // The environment stays usable.
            try env.write { _ = try $0.put(bytes("later"), forKey: bytes("after"), in: env["items"]) }
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 2)
        }
    }

    @Test("a nested transaction that throws drops its own writes and keeps the parent's")
    func throwingNestedRollsBackOnlyItself() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            let seenByChild = try env.write { txn in
                try txn.put(bytes("parent"), forKey: bytes("a"), in: items)
                var seen: [UInt8]? = nil
                #expect(throws: Refused(step: 2)) {
                    try txn.nested { child in
                        seen = try child.value(in: items, forKey: bytes("a"))
                        try child.put(bytes("child"), forKey: bytes("b"), in: items)
                        try child.put(bytes("child overwrote"), forKey: bytes("a"), in: items)
                        throw Refused(step: 2)
                    }
                }
                #expect(try txn.value(in: items, forKey: bytes("a")) == bytes("parent"))
                #expect(try txn.value(in: items, forKey: bytes("b")) == nil)
                try txn.put(bytes("parent later"), forKey: bytes("c"), in: items)
                return seen
            }
            #expect(seenByChild == bytes("parent"))
            let entries = try allEntries(env, items)
            #expect(entries.map(\.key) == [bytes("a"), bytes("c")])
            #expect(entries.map(\.value) == [bytes("parent"), bytes("parent later")])
        }
    }

    @Test("a nested transaction that returns joins the parent and returns its result")
    func returningNestedJoinsParent() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            let result = try env.write { txn in
                let inner = try txn.nested { child in
                    try child.put(bytes("child"), forKey: bytes("b"), in: items)
                    return 7
                }
                #expect(try txn.value(in: items, forKey: bytes("b")) == bytes("child"))
                return inner
            }
            #expect(result == 7)
            #expect(try env.read { try $0.value(in: items, forKey: bytes("b")) } == bytes("child"))
        }
    }

    @Test("a committed nested transaction is still undone when its parent throws")
    func nestedUndoneByParent() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            #expect(throws: Refused(step: 3)) {
                try env.write { txn in
                    try txn.nested { _ = try $0.put(bytes("child"), forKey: bytes("b"), in: items) }
                    throw Refused(step: 3)
                }
            }
            #expect(try env.read { try $0.entryCount(in: items) } == 0)
        }
    }

    @Test("nested transactions nest more than one level")
    func deepNesting() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            try env.write { txn in
                try txn.nested { level1 in
                    try level1.put(bytes("1"), forKey: bytes("level1"), in: items)
                    try? level1.nested { level2 in
                        try level2.put(bytes("2"), forKey: bytes("level2"), in: items)
                        try level2.nested { level3 in
                            _ = try level3.put(bytes("3"), forKey: bytes("level3"), in: items)
                        }
                        throw Refused(step: 4)
                    }
                    try level1.nested { level2 in
                        _ = try level2.put(bytes("2b"), forKey: bytes("level2b"), in: items)
                    }
                }
            }
            #expect(try allEntries(env, items).map(\.key) == [bytes("level1"), bytes("level2b")])
        }
    }

    @Test("a read snapshot does not see a write committed after it began")
    func readSnapshotIsolation() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            let items = env["items"]
            try env.write { _ = try $0.put(bytes("old"), forKey: bytes("k"), in: items) }
            // MDB_NOTLS lets one thread hold a read snapshot while it commits a write.
            let (inSnapshot, count) = try env.read { txn in
                try env.write { _ = try $0.put(bytes("new"), forKey: bytes("k"), in: items) }
                try env.write { _ = try $0.put(bytes("x"), forKey: bytes("added"), in: items) }
                return (try txn.value(in: items, forKey: bytes("k")), try txn.entryCount(in: items))
            }
            #expect(inSnapshot == bytes("old"))
            #expect(count == 1)
            #expect(try env.read { try $0.value(in: items, forKey: bytes("k")) } == bytes("new"))
        }
    }
}
