import Testing
import TranscriptStorage

@Suite("LMDB errors")
struct LMDBErrorTests {
    @Test("check passes success and throws every other code as that code")
    func checkThrowsNonZero() throws {
        try LMDBError.check(0)
        for error in [LMDBError.notFound, .mapFull, .keyExists, .badTransaction, .noSuchFile, LMDBError(code: -1)] {
            #expect(throws: error) { try LMDBError.check(error.code) }
        }
    }

    @Test(
        "descriptions are readable sentences",
        arguments: [
            (LMDBError.mapFull, "the LMDB map is full"),
            (LMDBError.directoryLocked, "the data directory is locked by another process"),
            (LMDBError.notFound, "MDB_NOTFOUND"),
            (LMDBError.keyExists, "MDB_KEYEXIST"),
            (LMDBError.readersFull, "MDB_READERS_FULL"),
            (LMDBError.noSuchFile, "No such file or directory"),
            (LMDBError.permissionDenied, "Permission denied"),
        ])
    func descriptions(error: LMDBError, expected: String) {
        #expect(error.description.contains(expected))
        #expect(!error.description.isEmpty)
    }

    @Test("named constants are distinct and match their codes")
    func constantsAreDistinct() {
        let all: [LMDBError] = [
            .keyExists, .notFound, .pageNotFound, .corrupted, .panic, .versionMismatch, .invalid, .mapFull,
            .databasesFull, .readersFull, .transactionFull, .cursorFull, .pageFull, .mapResized, .incompatible,
            .badReaderSlot, .badTransaction, .badValueSize, .badDatabase, .diskFull, .directoryLocked,
            .noSuchFile, .permissionDenied,
        ]
        #expect(Set(all).count == all.count)
        #expect(LMDBError(code: LMDBError.mapFull.code) == .mapFull)
        #expect(all.allSatisfy { $0.code != 0 })
    }

    @Test("a caller can match a thrown error against a named constant")
    func matchByConstant() throws {
        var matched = ""
        for code in [LMDBError.mapFull.code, LMDBError.keyExists.code] {
            do {
                try LMDBError.check(code)
            } catch LMDBError.mapFull {
                matched += "mapFull "
            } catch {
                matched += "other"
            }
        }
        #expect(matched == "mapFull other")
    }

    @Test("a switch over an LMDBError value matches its constants")
    func switchOverValue() {
        func name(_ error: LMDBError) -> String {
            switch error {
            case .mapFull: "map full"
            case .notFound: "not found"
            default: "other"
            }
        }
        #expect(name(.mapFull) == "map full")
        #expect(name(.notFound) == "not found")
        #expect(name(.keyExists) == "other")
    }

    @Test("an over-long key is refused with badValueSize, not stored")
    func overlongKey() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            #expect(throws: LMDBError.badValueSize) {
                try env.write { _ = try $0.put(bytes("v"), forKey: [UInt8](repeating: 1, count: 600), in: env["items"]) }
            }
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 0)
        }
    }

    @Test("an empty key is refused with badValueSize, not stored")
    func emptyKey() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            #expect(throws: LMDBError.badValueSize) {
                try env.write { try $0.put(bytes("v"), forKey: [], in: env["items"]) }
            }
            #expect(try env.read { try $0.entryCount(in: env["items"]) } == 0)
        }
    }
}
