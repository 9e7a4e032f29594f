import Foundation
import Testing
@testable import TranscriptVault

/// Docs/protocol.md: a receipt's `target` is `conversation`, `subject`, `tenant` or `retention`
/// (conversations expired by the tenant's retention policy).
@Suite("A retention receipt over the socket", .serialized)
struct RetentionReceiptWireTests {
    @Test("receipt.get on tvault.sock answers target retention for a retention sweep's receipt, as receipt show does")
    func retentionReceiptTarget() async throws {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            let issued = try tvaultOK(["token", "issue", "--tenant", "acme", "--scopes", "append,read,delete",
                                       "--data-dir", directory, "--format", "json"]).json()
            let token = try #require(issued["token"] as? String)
            // A conversation expired by retention, swept in-process (the server sweeps the same way).
            let receiptID = try await withVault(directory) { vault -> String in
                _ = try await vault.append(AppendRequest(tenant: "acme", conversationID: "old", messages: [sampleMessage("old", 1)]))
                try await vault.setRetention(tenant: "acme", days: 1)
                let receipts = try await vault.sweepRetention(now: Clock.nowMilliseconds() + 2 * 86_400_000)
                return try #require(receipts.first).id
            }
            let shown = try tvaultOK(["receipt", "show", receiptID, "--data-dir", directory, "--format", "json"]).json()
            #expect((shown["receipt"] as? [String: Any])?["target"] as? String == "retention")

            try await withServer(directory) { server in
                let socket = try LineSocket(path: server.socketPath)
                _ = try socket.auth(token: token)
                let answer = try socket.call(#"{"jsonrpc":"2.0","id":3,"method":"receipt.get","params":{"id":"\#(receiptID)"}}"#)
                let receipt = (answer["result"] as? [String: Any])?["receipt"] as? [String: Any]
                #expect(receipt?["id"] as? String == receiptID, "receipt.get answered \(answer)")
                #expect(receipt?["target"] as? String == "retention", "receipt.get answered \(answer)")
            }
        }
    }
}
