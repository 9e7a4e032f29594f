import Foundation
import Glibc
import Testing
import TranscriptStorage

@Suite("Environment copy")
struct CopyTests {
    @Test("a copy opens with the same data and misses later writes", arguments: [false, true])
    func copyOpensWithSameData(compact: Bool) throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { txn in
                for index in 0..<500 {
                    try txn.put(bytes("message \(index)"), forKey: bytes(String(format: "k%05d", index)), in: env["items"])
                }
                try txn.put(bytes("meta"), forKey: bytes("format"), in: env["other"])
            }
            let destination = directory + "/backup"
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
            try env.copy(to: destination, compact: compact)
            try env.write { _ = try $0.put(bytes("after the copy"), forKey: bytes("later"), in: env["items"]) }

            #expect(FileManager.default.fileExists(atPath: destination + "/data.mdb"))
            let copy = try Environment(path: destination, databases: testDatabases, options: testOptions())
            let original = try allEntries(env, env["items"]).filter { $0.key != bytes("later") }
            let copied = try allEntries(copy, copy["items"])
            #expect(copied.count == 500)
            #expect(copied.map(\.key) == original.map(\.key))
            #expect(copied.map(\.value) == original.map(\.value))
            #expect(try copy.read { try $0.value(in: copy["other"], forKey: bytes("format")) } == bytes("meta"))
            #expect(try copy.read { try $0.value(in: copy["items"], forKey: bytes("later")) } == nil)
        }
    }

    @Test("a compact copy leaves out freed pages")
    func compactCopyIsSmaller() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { txn in
                for index in 0..<256 {
                    try txn.put([UInt8](repeating: 7, count: 16 << 10), forKey: bytes("big-\(index)"), in: env["items"])
                }
            }
            try env.write { txn in
                for index in 0..<256 where index != 3 { try txn.delete(forKey: bytes("big-\(index)"), in: env["items"]) }
            }
            var sizes: [Bool: Int] = [:]
            for compact in [false, true] {
                let destination = directory + (compact ? "/compact" : "/plain")
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
                try env.copy(to: destination, compact: compact)
                let attributes = try FileManager.default.attributesOfItem(atPath: destination + "/data.mdb")
                sizes[compact] = (attributes[.size] as? NSNumber)?.intValue
                let copy = try Environment(path: destination, databases: testDatabases, options: testOptions())
                #expect(try copy.read { try $0.value(in: copy["items"], forKey: bytes("big-3")) } == [UInt8](repeating: 7, count: 16 << 10))
                #expect(try copy.read { try $0.entryCount(in: copy["items"]) } == 1)
            }
            let plain = try #require(sizes[false])
            let compact = try #require(sizes[true])
            #expect(compact * 4 < plain)
        }
    }

    @Test("copying into a missing directory fails with an LMDB error")
    func copyToMissingDirectory() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            #expect(throws: LMDBError.noSuchFile) {
                try env.copy(to: directory + "/missing", compact: false)
            }
        }
    }

    @Test("the copy's file is created readable by its owner only, whatever the umask and the directory's mode")
    func copyMode() throws {
        try withTemporaryDirectory { directory in
            let env = try openEnvironment(in: directory)
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: env["items"]) }
            let destination = directory + "/copy"
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o755])
            let previous = umask(0o022)
            defer { umask(previous) }
            try env.copy(to: destination, compact: true)
            let mode = try FileManager.default.attributesOfItem(atPath: destination + "/data.mdb")[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }
}
