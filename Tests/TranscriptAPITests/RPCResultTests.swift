import Testing
import TranscriptAPI

@Suite("Results are written in the contract's shape and read back by clients")
struct RPCResultTests {
    static let message = Array(#"{"role":"assistant","content":"caf\u00e9","n":1.0,"z":{}}"#.utf8)
    static let summary = ListResult.Conversation(
        conversationID: "c1", subjectID: "u1", format: nil, metadata: Array(#"{"k":1.50}"#.utf8),
        createdAtMs: 0, updatedAtMs: 1_700_000_000_123, messageCount: 2)

    private func text(_ result: some RPCResult) -> String {
        var writer = JSONWriter()
        result.write(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private func roundTrip<R: RPCResult & Equatable>(_ result: R) throws -> R {
        try RPCResponse.decode(RPCResponse.successLine(id: RPCID("r"), result: result)).decodeResult(R.self)
    }

    @Test("read results splice messages verbatim with RFC 3339 times")
    func readResult() throws {
        let result = ReadResult(messages: [.init(seq: 1, createdAtMs: 1_500, message: Self.message)], nextAfterSeq: nil)
        let expected = #"{"messages":[{"seq":1,"created_at":"1970-01-01T00:00:01.500Z","message":"#
            + String(decoding: Self.message, as: UTF8.self) + #"}],"next_after_seq":null}"#
        #expect(text(result) == expected)
        #expect(try roundTrip(result) == result)
        let more = ReadResult(messages: [], nextAfterSeq: 100)
        #expect(text(more) == #"{"messages":[],"next_after_seq":100}"#)
        #expect(try roundTrip(more) == more)
    }

    @Test("list results write every key, null when absent")
    func listResult() throws {
        let result = ListResult(conversations: [Self.summary], nextCursor: "n1")
        #expect(text(result) == #"{"conversations":[{"conversation_id":"c1","subject_id":"u1","format":null,"metadata":{"k":1.50},"created_at":"1970-01-01T00:00:00.000Z","updated_at":"2023-11-14T22:13:20.123Z","message_count":2}],"next_cursor":"n1"}"#)
        #expect(try roundTrip(result) == result)
    }

    @Test("export, receipts, erase, auth and system.info round-trip")
    func otherResults() throws {
        let export = ExportResult(subjectID: "u1", conversations: [
            .init(summary: Self.summary, messages: [.init(seq: 1, createdAtMs: 5, message: Self.message), .init(seq: 2, createdAtMs: 6, message: Array("{}".utf8))]),
        ])
        #expect(try roundTrip(export) == export)
        let receipt = Receipt(id: "rcpt_1", status: .pending, target: .conversation)
        #expect(text(ReceiptResult(receipt: receipt)) == #"{"receipt":{"id":"rcpt_1","status":"pending","target":"conversation"}}"#)
        #expect(try roundTrip(ReceiptResult(receipt: receipt)) == ReceiptResult(receipt: receipt))
        let erase = EraseResult(receipt: Receipt(id: "r2", status: .erased, target: .subject), conversations: 4)
        #expect(text(erase) == #"{"receipt":{"id":"r2","status":"erased","target":"subject"},"conversations":4}"#)
        #expect(try roundTrip(erase) == erase)
        var limits = APILimits()
        limits.requestsPerSecond = 50
        let auth = AuthResult(tenants: nil, scopes: [.append, .read], limits: limits)
        #expect(text(auth).hasPrefix(#"{"tenants":null,"scopes":["append","read"],"limits":{"line_bytes":16777216,"message_bytes":4194304,"messages_per_append":1000,"json_depth":64,"#))
        #expect(try roundTrip(auth) == auth)
        let scoped = AuthResult(tenants: ["acme"], scopes: [.export], limits: APILimits())
        #expect(try roundTrip(scoped) == scoped)
        let info = SystemInfo(version: "0.1.0")
        #expect(text(info) == #"{"version":"0.1.0","protocol":1,"methods":["auth","system.info","conversation.append","conversation.read","conversation.list","conversation.delete","subject.erase","subject.export","receipt.get"]}"#)
        #expect(try roundTrip(info) == info)
    }

    @Test("a malformed result is -32603 naming the member", arguments: [
        (#"{"conversation_id":"c","first_seq":1}"#, "last_seq"),
        (#"{"conversation_id":"c","first_seq":-1,"last_seq":1}"#, "first_seq"),
        (#"{"conversation_id":1,"first_seq":1,"last_seq":1}"#, "conversation_id"),
        (#"[]"#, "result"),
    ])
    func malformedResult(result: String, field: String) throws {
        let line = Array((#"{"jsonrpc":"2.0","id":1,"result":"# + result + "}").utf8)
        let response = try RPCResponse.decode(line)
        let error = #expect(throws: RPCError.self) { try response.decodeResult(AppendResult.self) }
        #expect(error?.code == RPCError.Code.internal)
        #expect(error?.field == field)
    }

    @Test("results ignore members a newer server may add")
    func unknownMembersTolerated() throws {
        let line = Array(#"{"jsonrpc":"2.0","id":1,"result":{"conversation_id":"c","first_seq":1,"last_seq":2,"new":true}}"#.utf8)
        #expect(try RPCResponse.decode(line).decodeResult(AppendResult.self) == AppendResult(conversationID: "c", firstSeq: 1, lastSeq: 2))
    }

    @Test("methods carry their scope and authentication needs")
    func methodScopes() {
        #expect(RPCMethod.systemInfo.requiresAuthentication == false)
        #expect(RPCMethod.auth.requiredScope == nil)
        #expect(RPCMethod.conversationAppend.requiredScope == .append)
        #expect(RPCMethod.subjectExport.requiredScope == .export)
        #expect(RPCMethod.subjectErase.requiredScope == .delete)
        #expect(RPCMethod(rawValue: "conversation.Read") == nil)
    }
}
