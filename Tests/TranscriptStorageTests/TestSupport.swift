import Foundation
import Testing
import TranscriptStorage

/// A fresh directory under the system temporary directory, removed when the test is done.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// The async form of ``withTemporaryDirectory(_:)``.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

private func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("tvault-storage-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    return path
}

/// Options that skip fsync: durability is not what these tests measure, and it keeps them fast.
func testOptions(initialMapSize: Int = 8 << 20) -> Environment.Options {
    var options = Environment.Options()
    options.initialMapSize = initialMapSize
    options.durable = false
    return options
}

/// The databases every test environment opens.
let testDatabases = ["items", "other"]

/// Opens (creating) a test environment in `directory/store`.
func openEnvironment(in directory: String, options: Environment.Options = testOptions()) throws -> Environment {
    try Environment(path: directory + "/store", databases: testDatabases, options: options)
}

/// UTF-8 bytes of `text`, for keys and values.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Every key and value of `db`, in order, copied out of the map.
func allEntries(_ env: Environment, _ db: Database) throws -> [(key: [UInt8], value: [UInt8])] {
    try env.read { txn in
        try txn.withCursor(db) { cursor in
            var result: [(key: [UInt8], value: [UInt8])] = []
            var entry = try cursor.first()
            while let current = entry {
                result.append((Array(current.key), Array(current.value)))
                entry = try cursor.next()
            }
            return result
        }
    }
}
