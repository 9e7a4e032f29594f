import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault

/// `conversation.delete`, `subject.erase`, `subject.export`, `receipt.get`, and -32010.
@Suite("Shred and export methods over the socket")
struct ShredMethodTests {
    @Test("delete, export, erase and receipt.get, end to end")
    func shredMethods() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"], scopes: Set(TokenScope.allCases)))
            let first = [sampleMessage("s1", 1), bytes(#"{"n":1.0,"a":[]}"#)]
            _ = try await client.append(AppendParams(conversationID: "c1", messages: first, subjectID: "s1", metadata: bytes(#"{"k":1}"#)))
            _ = try await client.append(AppendParams(conversationID: "c2", messages: [sampleMessage("s1", 2)], subjectID: "s1"))
            _ = try await client.append(AppendParams(conversationID: "c3", messages: [sampleMessage("none", 3)]))

            let exported = try await client.call(.subjectExport, params: SubjectParams(subjectID: "s1"), as: ExportResult.self)
            #expect(exported.subjectID == "s1")
            #expect(Set(exported.conversations.map(\.summary.conversationID)) == ["c1", "c2"])
            let c1 = try #require(exported.conversations.first { $0.summary.conversationID == "c1" })
            #expect(c1.messages.map(\.message) == first)
            #expect(c1.summary.metadata == bytes(#"{"k":1}"#))

            let deleted = try await client.call(.conversationDelete, params: DeleteParams(conversationID: "c3"), as: ReceiptResult.self)
            #expect(deleted.receipt.target == .conversation)
            let gone = await serverError { _ = try await client.read(ReadParams(conversationID: "c3")) }
            #expect(gone?.code == RPCError.Code.notFound)
            let again = await serverError { _ = try await client.call(.conversationDelete, params: DeleteParams(conversationID: "c3"), as: ReceiptResult.self) }
            #expect(again?.code == RPCError.Code.notFound)
            let fetched = try await client.call(.receiptGet, params: ReceiptParams(id: deleted.receipt.id), as: ReceiptResult.self)
            #expect(fetched.receipt.id == deleted.receipt.id)
            #expect(fetched.receipt.target == .conversation)

            let erased = try await client.call(.subjectErase, params: SubjectParams(subjectID: "s1"), as: EraseResult.self)
            #expect(erased.conversations == 2)
            #expect(erased.receipt.target == .subject)
            for conversation in ["c1", "c2"] {
                let error = await serverError { _ = try await client.read(ReadParams(conversationID: conversation)) }
                #expect(error?.code == RPCError.Code.notFound)
            }
            #expect(try await client.call(.subjectExport, params: SubjectParams(subjectID: "s1"), as: ExportResult.self).conversations.isEmpty)
            #expect(try await client.list(ListParams()).conversations.isEmpty)

            let missing = await serverError { _ = try await client.call(.receiptGet, params: ReceiptParams(id: String(repeating: "0", count: 32)), as: ReceiptResult.self) }
            #expect(missing?.code == RPCError.Code.notFound)
            try await client.close()
        }
    }

    @Test("delete, erase and receipt.get need the delete scope; export needs export")
    func shredScopes() async throws {
        try await withServer { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"], scopes: [.append, .read, .list]))
            _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("c", 1)], subjectID: "s"))
            let calls: [@Sendable () async throws -> Void] = [
                { _ = try await client.call(.conversationDelete, params: DeleteParams(conversationID: "c"), as: ReceiptResult.self) },
                { _ = try await client.call(.subjectErase, params: SubjectParams(subjectID: "s"), as: EraseResult.self) },
                { _ = try await client.call(.receiptGet, params: ReceiptParams(id: String(repeating: "0", count: 32)), as: ReceiptResult.self) },
                { _ = try await client.call(.subjectExport, params: SubjectParams(subjectID: "s"), as: ExportResult.self) },
            ]
            for call in calls {
                #expect(await serverError(call)?.code == RPCError.Code.forbidden)
            }
            #expect(try await client.readAll(conversation: "c").count == 1)
            try await client.close()
        }
    }

    @Test("another tenant's receipt reads like a missing one")
    func foreignReceipt() async throws {
        try await withServer(tenants: ["a", "b"]) { server in
            let inB = try await server.client(token: try await server.token(tenants: ["b"], scopes: Set(TokenScope.allCases)))
            _ = try await inB.append(AppendParams(conversationID: "c", messages: [sampleMessage("b", 1)]))
            let receipt = try await inB.call(.conversationDelete, params: DeleteParams(conversationID: "c"), as: ReceiptResult.self).receipt
            let inA = try await server.client(token: try await server.token(tenants: ["a"], scopes: Set(TokenScope.allCases)))
            let foreign = try await inA.sendRaw(requestLine(id: 1, "receipt.get", #"{"id":"\#(receipt.id)"}"#))
            let missing = try await inA.sendRaw(requestLine(id: 1, "receipt.get", #"{"id":"\#(String(repeating: "0", count: 32))"}"#))
            #expect(try errorAnswer(foreign).error.code == RPCError.Code.notFound)
            #expect(foreign == missing)
            try await inA.close()
            try await inB.close()
        }
    }

    @Test("-32010 tvault.TenantShredded for every request on a tenant scheduled for shredding, then shredded")
    func tenantShredded() async throws {
        try await withServer(tenants: ["doomed", "kept"]) { server in
            let token = try await server.token(tenants: ["doomed", "kept"], scopes: Set(TokenScope.allCases))
            let client = try await server.client(token: token)
            _ = try await client.append(AppendParams(tenant: "doomed", conversationID: "c", messages: [sampleMessage("d", 1)]))
            _ = try await client.append(AppendParams(tenant: "doomed", conversationID: "gone", messages: [sampleMessage("d", 9)]))
            _ = try await client.append(AppendParams(tenant: "kept", conversationID: "c", messages: [sampleMessage("k", 1)]))
            let earlier = try await client.call(.conversationDelete, params: DeleteParams(tenant: "doomed", conversationID: "gone"), as: ReceiptResult.self)
            _ = try await server.vault.scheduleTenantShred("doomed")

            let calls: [@Sendable () async throws -> Void] = [
                { _ = try await client.read(ReadParams(tenant: "doomed", conversationID: "c")) },
                { _ = try await client.append(AppendParams(tenant: "doomed", conversationID: "c", messages: [sampleMessage("d", 2)])) },
                { _ = try await client.append(AppendParams(tenant: "doomed", conversationID: "new", messages: [sampleMessage("d", 3)])) },
                { _ = try await client.list(ListParams(tenant: "doomed")) },
                { _ = try await client.call(.conversationDelete, params: DeleteParams(tenant: "doomed", conversationID: "c"), as: ReceiptResult.self) },
                { _ = try await client.call(.subjectExport, params: SubjectParams(tenant: "doomed", subjectID: "s"), as: ExportResult.self) },
                { _ = try await client.call(.receiptGet, params: ReceiptParams(tenant: "doomed", id: earlier.receipt.id), as: ReceiptResult.self) },
                { _ = try await client.call(.receiptGet, params: ReceiptParams(tenant: "doomed", id: String(repeating: "0", count: 32)), as: ReceiptResult.self) },
            ]
            for (number, call) in calls.enumerated() {
                let error = await serverError(call)
                #expect(error?.code == RPCError.Code.tenantShredded, "call \(number), scheduled")
                #expect(error?.name == "tvault.TenantShredded")
            }
            // Shredded for good (no waiting period left): the same answers.
            try await server.vault.cancelTenantShred("doomed")
            let shredded = try #require(try await server.vault.scheduleTenantShred("doomed", delayMilliseconds: 0).receipt)
            // The receipt counts the conversations the shred took: "c" ("gone" was deleted before).
            #expect(shredded.conversations == 1)
            for (number, call) in calls.enumerated() {
                #expect(await serverError(call)?.code == RPCError.Code.tenantShredded, "call \(number), shredded")
            }
            let tenantReceipt = await serverError {
                _ = try await client.call(.receiptGet, params: ReceiptParams(tenant: "doomed", id: shredded.id), as: ReceiptResult.self)
            }
            #expect(tenantReceipt?.code == RPCError.Code.tenantShredded)
            // An administrator still finds both receipts.
            #expect(try server.vault.receipt(id: shredded.id).target == .tenant)
            #expect(try server.vault.receipt(id: earlier.receipt.id).target == .conversation)
            // The other tenant is untouched.
            #expect(try await client.readAll(tenant: "kept", conversation: "c").map(\.message) == [sampleMessage("k", 1)])
            try await client.close()
        }
    }
}
