import Foundation
import Testing
@testable import TranscriptVault

/// Messages are stored verbatim: what a read returns is exactly the bytes that were appended.
@Suite("Round trip")
struct RoundTripTests {
    /// Messages that a JSON re-encoder would change in some way.
    static let awkward: [String] = [
        #"{"z":1,"a":2,"m":{"y":true,"b":null}}"#,
        #"{"n":1.0,"e":1e2,"E":1E+2,"neg":-0,"big":123456789012345678901234567890,"frac":0.10}"#,
        #"{"emoji":"👩‍👩‍👧‍👦 🏳️‍🌈","flag":"🇫🇷"}"#,
        "{\"combining\":\"e\u{0301} a\u{0308}\u{0304} Å vs Å\"}",
        #"{"rtl":"שלום עולם","arabic":"مرحبا","mixed":"abc \u202Eabc"}"#,
        #"{"escaped":"\u00e9 \u00E9 \ud83d\ude00 \/ \" \\ \n\t","raw":"é"}"#,
        "{ \"spaced\" :\t[ 1 ,2 ]\r\n}",
        #"{"tool_calls":[{"function":{"arguments":"{\"city\":\"Paris\"}"}}],"signature":"EqQBCkgIARABGAIiQL=="}"#,
        #"{"dup":1,"dup":2}"#,
        "{\"nul\":\"a\\u0000b\",\"control\":\"\u{7f}\"}",
    ]

    @Test("each awkward message comes back byte for byte", arguments: awkward)
    func awkwardMessage(_ text: String) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let message = bytes(text)
                let result = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [message]))
                #expect(result.firstSeq == 1 && result.lastSeq == 1)
                let page = try vault.read(tenant: "acme", conversationID: "c")
                #expect(page.messages.map(\.message) == [message])
                #expect(page.messages.first?.seq == 1)
            }
        }
    }

    @Test("a batch of awkward messages and a 4 MiB message survive close and reopen")
    func manyMessagesAcrossReopen() async throws {
        try await withTemporaryDirectory { dir in
            let prefix = bytes(#"{"blob":""#)
            let suffix = bytes(#""}"#)
            var large = prefix
            large += (0..<((4 << 20) - prefix.count - suffix.count)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            large += suffix
            #expect(large.count == 4 << 20)
            let messages = Self.awkward.map(bytes) + [large]

            let before = Date()
            try await withNewVault(dir) { vault in
                let result = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: messages))
                #expect(result.firstSeq == 1)
                #expect(result.lastSeq == UInt64(messages.count))
                let page = try vault.read(tenant: "acme", conversationID: "c")
                #expect(page.messages.map(\.message) == messages)
            }
            try await withVault(testConfiguration(dir)) { vault in
                let stored = try readAll(vault, tenant: "acme", conversation: "c")
                #expect(stored.count == messages.count)
                for (index, message) in stored.enumerated() {
                    #expect(message.seq == UInt64(index + 1))
                    #expect(message.message == messages[index], "message \(index + 1) differs")
                    #expect(message.createdAt >= Int64(before.timeIntervalSince1970 * 1000) - 1000)
                }
            }
        }
    }

    @Test("a message one byte over the limit is refused and nothing is stored")
    func overLimit() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let tooBig = [UInt8](repeating: UInt8(ascii: "x"), count: (4 << 20) + 1)
                await #expect(throws: VaultError.self) {
                    try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}"), tooBig]))
                }
                #expect(throws: VaultError.notFound) { try vault.read(tenant: "acme", conversationID: "c") }
            }
        }
    }

    @Test("empty messages and an empty append are refused")
    func emptyInput() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                await expectInvalidArgument("messages") {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: []))
                }
                await expectInvalidArgument("messages") {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c", messages: [bytes("{}"), []]))
                }
                await expectInvalidArgument("conversation_id") {
                    _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "", messages: [bytes("{}")]))
                }
            }
        }
    }
}
