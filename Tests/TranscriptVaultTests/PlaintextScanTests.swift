import Foundation
import Glibc
import Testing
@testable import TranscriptVault

/// No client-supplied string is ever written in clear: a scan of every file of the data
/// directory for random canaries finds none (DESIGN §2).
@Suite("Plaintext scan")
struct PlaintextScanTests {
    /// Every regular file under `directory`, recursively, with its bytes.
    static func files(under directory: String) throws -> [(path: String, bytes: [UInt8])] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        var result: [(String, [UInt8])] = []
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            result.append((path, Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        return result
    }

    /// How often `needle` occurs in `haystack`.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard let first = needle.first, haystack.count >= needle.count else { return 0 }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                var count = 0
                var offset = 0
                let last = hay.count - pin.count
                while offset <= last,
                      let found = memchr(hay.baseAddress! + offset, Int32(first), last - offset + 1) {
                    let position = hay.baseAddress!.distance(to: UnsafeRawPointer(found))
                    if memcmp(hay.baseAddress! + position, pin.baseAddress!, pin.count) == 0 { count += 1 }
                    offset = position + 1
                }
                return count
            }
        }
    }

    @Test("no canary from ids, keys, format, metadata or messages appears in any file")
    func noCanaryOnDisk() async throws {
        try await withTemporaryDirectory { dir in
            // The tenant name is stored in clear by design: it is the scanner's positive control.
            let tenant = "t" + randomToken(20)
            var canaries: [String] = []
            func canary(_ kind: String) -> String {
                let value = "\(kind)-\(randomToken(24))"
                canaries.append(value)
                return value
            }
            try await withNewVault(dir, tenants: [tenant]) { vault in
                for conversationIndex in 0..<6 {
                    let conversation = canary("conv")
                    let subject = canary("subject")
                    let format = canary("format")
                    let metadataValue = canary("meta")
                    for round in 0..<3 {
                        let messages = (0..<4).map { _ in
                            let text = canary("msg")
                            // Short and long messages, with the canary repeated in a large one.
                            let body = conversationIndex == 0 ? String(repeating: text + " ", count: 2000) : text
                            return bytes(#"{"role":"user","content":"\#(body)"}"#)
                        }
                        _ = try await vault.append(AppendRequest(
                            tenant: tenant, conversationID: conversation, messages: messages, subjectID: subject,
                            format: round == 0 ? format : nil, metadata: round == 0 ? bytes(#"{"k":"\#(metadataValue)"}"#) : nil,
                            idempotencyKey: canary("idem")))
                    }
                    // Reads and lists must not leave clear copies behind either.
                    _ = try readAll(vault, tenant: tenant, conversation: conversation)
                    _ = try vault.list(tenant: tenant, query: ListQuery(subjectID: subject))
                }
            }
            let files = try Self.files(under: dir)
            let names = Set(files.map { URL(fileURLWithPath: $0.path).lastPathComponent })
            #expect(names.isSuperset(of: ["data.mdb", "keyring", "unlock.key"]), "the scan missed the store's files: \(names)")
            let expectedCanaries = 6 * (4 + 3 + 3 * 4)
            #expect(canaries.count == expectedCanaries)

            let control = files.reduce(0) { $0 + Self.occurrences(of: bytes(tenant), in: $1.bytes) }
            #expect(control > 0, "the scanner did not find the tenant name, which is stored in clear")

            for canary in canaries {
                for file in files {
                    let hits = Self.occurrences(of: bytes(canary), in: file.bytes)
                    #expect(hits == 0, "\(canary) found \(hits) times in \(file.path)")
                }
            }
        }
    }
}
