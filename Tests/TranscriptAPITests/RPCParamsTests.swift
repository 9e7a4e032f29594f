import Testing
import TranscriptAPI

/// Which params type a case decodes.
enum ParamsKind: Sendable {
    case auth, append, read, list, delete, subject, receipt

    func decode(_ request: RPCRequest) throws(RPCError) {
        switch self {
        case .auth: _ = try request.decodeParams(AuthParams.self)
        case .append: _ = try request.decodeParams(AppendParams.self)
        case .read: _ = try request.decodeParams(ReadParams.self)
        case .list: _ = try request.decodeParams(ListParams.self)
        case .delete: _ = try request.decodeParams(DeleteParams.self)
        case .subject: _ = try request.decodeParams(SubjectParams.self)
        case .receipt: _ = try request.decodeParams(ReceiptParams.self)
        }
    }
}

/// One params case: the params object's text and the field a -32602 must name (or `nil`).
struct ParamsCase: Sendable, CustomTestStringConvertible {
    let kind: ParamsKind
    let params: String?
    let field: String?

    init(_ kind: ParamsKind, _ params: String?, _ field: String?) {
        self.kind = kind
        self.params = params
        self.field = field
    }

    var testDescription: String { "\(kind) \(params ?? "<absent>") → \(field ?? "ok")" }
}

func request(params: String?) throws -> RPCRequest {
    let paramsMember = params.map { #","params":"# + $0 } ?? ""
    return try RPCRequest.decode(Array((#"{"jsonrpc":"2.0","method":"m","id":1"# + paramsMember + "}").utf8))
}

@Suite("Params are checked strictly, naming the offending field")
struct RPCParamsTests {
    static let id256 = String(repeating: "é", count: 128)
    static let id257 = String(repeating: "é", count: 128) + "x"
    static let message = #"[{"role":"user"}]"#

    static let cases: [ParamsCase] = [
        ParamsCase(.auth, #"{"token":"tvt_a_b"}"#, nil),
        ParamsCase(.auth, nil, "token"),
        ParamsCase(.auth, #"{"token":""}"#, "token"),
        ParamsCase(.auth, #"{"token":5}"#, "token"),
        ParamsCase(.auth, #"{"token":"t","tenant":"a"}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message)}"#, nil),
        ParamsCase(.append, #"{"conversation_id":"\#(id256)","messages":\#(message)}"#, nil),
        ParamsCase(.append, #"{"conversation_id":"\#(id257)","messages":\#(message)}"#, "conversation_id"),
        ParamsCase(.append, #"{"conversation_id":"","messages":\#(message)}"#, "conversation_id"),
        ParamsCase(.append, #"{"messages":\#(message)}"#, "conversation_id"),
        ParamsCase(.append, #"{"conversation_id":7,"messages":\#(message)}"#, "conversation_id"),
        ParamsCase(.append, #"{"conversation_id":"c"}"#, "messages"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":[]}"#, "messages"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":[{},1]}"#, "messages"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":[[]]}"#, "messages"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":{"role":"user"}}"#, "messages"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"metadata":[]}"#, "metadata"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"metadata":null,"format":null}"#, nil),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"subject_id":1}"#, "subject_id"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"idempotency_key":""}"#, "idempotency_key"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"format":""}"#, "format"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"foo":1}"#, "foo"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"acme-01"}"#, nil),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"Acme"}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"-acme"}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":""}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"a_b"}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"\#(String(repeating: "a", count: 64))"}"#, "tenant"),
        ParamsCase(.append, #"{"conversation_id":"c","messages":\#(message),"tenant":"\#(String(repeating: "a", count: 63))"}"#, nil),
        ParamsCase(.read, #"{"conversation_id":"c","after_seq":0,"limit":1000}"#, nil),
        ParamsCase(.read, nil, "conversation_id"),
        ParamsCase(.read, #"{"conversation_id":"c","after_seq":-1}"#, "after_seq"),
        ParamsCase(.read, #"{"conversation_id":"c","after_seq":1.0}"#, "after_seq"),
        ParamsCase(.read, #"{"conversation_id":"c","after_seq":"1"}"#, "after_seq"),
        ParamsCase(.read, #"{"conversation_id":"c","after_seq":99999999999999999999}"#, "after_seq"),
        ParamsCase(.read, #"{"conversation_id":"c","limit":0}"#, "limit"),
        ParamsCase(.read, #"{"conversation_id":"c","limit":1001}"#, "limit"),
        ParamsCase(.read, #"{"conversation_id":"c","limit":1e2}"#, "limit"),
        ParamsCase(.list, nil, nil),
        ParamsCase(.list, #"{}"#, nil),
        ParamsCase(.list, #"{"updated_after":"2026-01-01T00:00:00Z","updated_before":"2026-01-02T00:00:00.123456Z"}"#, nil),
        ParamsCase(.list, #"{"updated_after":"2026-01-01T00:00:00+01:00"}"#, "updated_after"),
        ParamsCase(.list, #"{"updated_before":"2026-01-01"}"#, "updated_before"),
        ParamsCase(.list, #"{"updated_before":1767225600000}"#, "updated_before"),
        ParamsCase(.list, #"{"limit":"10"}"#, "limit"),
        ParamsCase(.list, #"{"cursor":""}"#, "cursor"),
        ParamsCase(.list, #"{"cursor":"abc","subject_id":"u"}"#, nil),
        ParamsCase(.list, #"{"conversation_id":"c"}"#, "conversation_id"),
        ParamsCase(.delete, #"{"conversation_id":"c"}"#, nil),
        ParamsCase(.delete, #"{}"#, "conversation_id"),
        ParamsCase(.subject, #"{"subject_id":"u"}"#, nil),
        ParamsCase(.subject, #"{"subject_id":""}"#, "subject_id"),
        ParamsCase(.subject, #"{"subject_id":"u","conversation_id":"c"}"#, "conversation_id"),
        ParamsCase(.receipt, #"{"id":"r1"}"#, nil),
        ParamsCase(.receipt, #"{"id":null}"#, "id"),
    ]

    @Test("params", arguments: cases)
    func params(_ testCase: ParamsCase) throws {
        let request = try request(params: testCase.params)
        if let field = testCase.field {
            let error = #expect(throws: RPCError.self) { try testCase.kind.decode(request) }
            #expect(error?.code == RPCError.Code.invalidParams)
            #expect(error?.name == "tvault.InvalidParams")
            #expect(error?.field == field)
        } else {
            try testCase.kind.decode(request)
        }
    }

    @Test("append keeps each message's and the metadata's exact bytes")
    func appendKeepsBytes() throws {
        let first = #"{"role":"user","content":[{"type":"text","text":"caf\u00e9 \"1.0\""}],"n":1.0}"#
        let second = #"{ "z" : 1e400 , "a" : {} }"#
        let metadata = #"{"k":[1.50,true]}"#
        let params = #"{"idempotency_key":"k1","messages":[ \#(first) , \#(second) ],"conversation_id":"c","metadata": \#(metadata) ,"format":"openai.chat","subject_id":"u"}"#
        let append = try request(params: params).decodeParams(AppendParams.self)
        #expect(append.messages == [Array(first.utf8), Array(second.utf8)])
        #expect(append.metadata == Array(metadata.utf8))
        #expect(append.conversationID == "c")
        #expect(append.subjectID == "u")
        #expect(append.format == "openai.chat")
        #expect(append.idempotencyKey == "k1")
        #expect(append.tenant == nil)
    }

    @Test("defaults apply when optional params are absent")
    func defaults() throws {
        let read = try request(params: #"{"conversation_id":"c"}"#).decodeParams(ReadParams.self)
        #expect(read == ReadParams(conversationID: "c", afterSeq: 0, limit: 100))
        let list = try request(params: nil).decodeParams(ListParams.self)
        #expect(list == ListParams(limit: 100))
        let window = try request(params: #"{"updated_after":"1970-01-01T00:00:01.5Z"}"#).decodeParams(ListParams.self)
        #expect(window.updatedAfter == 1500)
    }

    @Test("client-encoded params decode to the same values")
    func paramsRoundTrip() throws {
        let all: [any RPCParams & Equatable] = [
            AuthParams(token: "tvt_id_secret"),
            AppendParams(tenant: "acme", conversationID: "c\"1", messages: [Array(#"{"a":1.0}"#.utf8)], subjectID: "s", format: "f", metadata: Array("{}".utf8), idempotencyKey: "k"),
            ReadParams(tenant: "acme", conversationID: "c", afterSeq: 42, limit: 7),
            ListParams(tenant: "acme", subjectID: "s", updatedAfter: 1_700_000_000_123, updatedBefore: -1, limit: 3, cursor: "next"),
            DeleteParams(conversationID: "c"),
            SubjectParams(tenant: "t", subjectID: "s"),
            ReceiptParams(id: "r"),
        ]
        for params in all {
            try expectRoundTrip(params)
        }
    }

    private func expectRoundTrip<P: RPCParams & Equatable>(_ params: P) throws {
        let request = try RPCRequest.decode(RPCRequest.encodeLine(id: RPCID(1), method: "m", params: params))
        #expect(try request.decodeParams(P.self) == params)
    }

    @Test("auth params never print the token")
    func tokenRedacted() {
        let auth = AuthParams(token: "tvt_abc_supersecret")
        #expect(!String(describing: auth).contains("supersecret"))
        #expect(!String(reflecting: auth).contains("supersecret"))
        var dumped = ""
        dump(auth, to: &dumped)
        #expect(!dumped.contains("supersecret"))
        #expect(!String(describing: [auth]).contains("supersecret"))
    }

    @Test("wire rules for tenants and identifiers", arguments: [
        ("a", true), ("0", true), ("acme-eu-1", true), ("a-", true), (String(repeating: "z", count: 63), true),
        ("", false), ("-a", false), ("A", false), ("a.b", false), ("é", false), (String(repeating: "z", count: 64), false),
    ])
    func tenantRule(name: String, valid: Bool) {
        #expect(WireRules.isValidTenant(name) == valid)
    }
}
