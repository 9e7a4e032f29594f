import Testing
import TranscriptStorage
@testable import TranscriptVault

/// A store that starts with a tiny LMDB map grows it on demand (DESIGN §3).
@Suite("Map growth")
struct MapGrowthTests {
    static let initialMapSize = 256 << 10

    /// A JSON message of exactly `size` bytes whose content depends on `tag`.
    static func message(size: Int, tag: Int) -> [UInt8] {
        let head = bytes(#"{"tag":\#(tag),"fill":""#)
        let tail = bytes(#""}"#)
        let fill = (0..<(size - head.count - tail.count)).map { UInt8(ascii: "a") + UInt8(($0 + tag) % 26) }
        return head + fill + tail
    }

    @Test("about 30 MiB appended to a 256 KiB map is all readable after close and reopen")
    func growsFromTinyMap() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = testConfiguration(dir)
            configuration.initialMapSize = Self.initialMapSize
            // Four conversations, each with large messages (on overflow pages) and small ones.
            var expected: [String: [[UInt8]]] = [:]
            var total = 0
            try await withVault(configuration, initialize: true) { vault in
                #expect(vault.environment.mapSize < 1 << 20)
                _ = try await vault.createTenant("acme")
                try await withThrowingTaskGroup(of: (String, [[UInt8]]).self) { group in
                    for conversation in 0..<4 {
                        group.addTask {
                            var appended: [[UInt8]] = []
                            for round in 0..<15 {
                                let large = Self.message(size: 512 << 10, tag: conversation * 100 + round)
                                let small = (0..<20).map { sampleMessage("c\(conversation)-r\(round)", $0) }
                                let result = try await vault.append(AppendRequest(
                                    tenant: "acme", conversationID: "c\(conversation)", messages: [large] + small))
                                #expect(result.firstSeq == UInt64(appended.count + 1))
                                appended += [large] + small
                            }
                            return ("c\(conversation)", appended)
                        }
                    }
                    for try await (conversation, messages) in group { expected[conversation] = messages }
                }
                total = expected.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
                #expect(total >= 30 << 20)
                #expect(vault.environment.mapSize >= total, "the map did not grow")
                for (conversation, messages) in expected {
                    #expect(try readAll(vault, tenant: "acme", conversation: conversation).map(\.message) == messages)
                }
            }
            // Reopened with the same tiny initial size, the grown map is kept.
            try await withVault(configuration) { vault in
                #expect(vault.environment.mapSize >= total)
                for (conversation, messages) in expected {
                    let stored = try readAll(vault, tenant: "acme", conversation: conversation)
                    #expect(stored.map(\.message) == messages, "\(conversation) differs after reopen")
                }
                let more = Self.message(size: 2 << 20, tag: 999)
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c0", messages: [more]))
                #expect(try readAll(vault, tenant: "acme", conversation: "c0").last?.message == more)
            }
        }
    }

    @Test("a single append larger than the whole initial map succeeds")
    func oneLargeAppend() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = testConfiguration(dir)
            configuration.initialMapSize = Self.initialMapSize
            try await withVault(configuration, initialize: true) { vault in
                _ = try await vault.createTenant("acme")
                let messages = (0..<3).map { Self.message(size: 4 << 20, tag: $0) }
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "big", messages: messages))
                #expect(try readAll(vault, tenant: "acme", conversation: "big").map(\.message) == messages)
            }
        }
    }
}
