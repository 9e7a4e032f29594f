import Dispatch
public import TranscriptAPI
public import TranscriptVault

/// Turns one decoded request into one response line, calling the engine.
///
/// It knows JSON-RPC and the engine's API, nothing of sockets: the connection hands it a
/// request and the caller's grant and writes back what it returns.
public final class Dispatcher: Sendable {
    /// The server's version string.
    public static let version = "0.1.0"

    let vault: Vault
    let limits: APILimits
    /// What the parse of a request line keeps (``RPCRequest/keeping(messagesPerAppend:)``).
    let requestKeeping: StrictJSON.Keeping
    let rateLimiter: RateLimiter?
    let soleAppender = SoleAppender()
    /// Where request lines of ``offLoopLineBytes`` or more are decoded, one at a time, beside
    /// the event loops (see ``ClientConnectionHandler``).
    let lineDecoder = DispatchQueue(label: "tvault-decode")

    /// Request lines this long or longer are decoded on ``lineDecoder``. A line of 256 KiB
    /// (about 250 messages of 1 KiB) takes a few milliseconds to parse; a hostile one of the
    /// 16 MiB limit up to a second.
    static let offLoopLineBytes = 256 << 10

    public init(vault: Vault, limits: APILimits, burst: Int) {
        self.vault = vault
        self.limits = limits
        self.requestKeeping = RPCRequest.keeping(messagesPerAppend: limits.messagesPerAppend)
        self.rateLimiter = limits.requestsPerSecond.map { RateLimiter(rate: $0, burst: burst) }
    }

    /// Returns once every line handed to ``lineDecoder`` so far has been dealt with. The server
    /// waits for it before its event loops stop: a decode that outlived its connection would
    /// otherwise call back to a loop that has shut down.
    func decodesDone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lineDecoder.async { continuation.resume() }
        }
    }

    /// Decodes a request line under the server's limits.
    func decode(_ line: [UInt8]) throws(RPCRequest.Rejection) -> RPCRequest {
        try RPCRequest.decode(line, maxDepth: limits.jsonDepth, keeping: requestKeeping)
    }

    /// The methods this server answers on the client socket.
    public static let methods: [RPCMethod] = RPCMethod.allCases

    /// Handles `auth`: returns the response line and, on success, the grant for the connection.
    public func authenticate(_ request: RPCRequest) -> (line: [UInt8], grant: TokenGrant?) {
        do {
            let params = try request.decodeParams(AuthParams.self)
            let grant = try vault.authenticate(token: params.token)
            let scopes = RPCScope.allCases.filter { scope in grant.scopes.contains { $0.rawValue == scope.rawValue } }
            let result = AuthResult(tenants: grant.tenants, scopes: scopes, limits: limits)
            return (RPCResponse.successLine(id: request.responseID, result: result), grant)
        } catch {
            return (RPCResponse.failureLine(id: request.responseID, error: .from(error)), nil)
        }
    }

    /// What a request needs to be answered, decided at once and in request order.
    enum Work: Sendable {
        /// The answer is known now: an error, or `system.info`.
        case answered([UInt8])
        /// An append already queued on the store's writer (so pipelined appends share group
        /// commits and keep their order); `respond` turns its durable outcome into the line.
        case append(AppendTicket, respond: @Sendable (Result<TranscriptVault.AppendResult, any Error>) -> [UInt8])
        /// A quick synchronous call (read, list, receipt), to run once every earlier request of
        /// the connection has been answered, so that it sees the client's own earlier writes.
        case inline(@Sendable () -> [UInt8])
        /// A long call (delete, erase, export) run in a task, under the same ordering rule.
        case background(@Sendable () async -> [UInt8])
    }

    /// Checks a request for any method but `auth` from `connection`, holding `grant` (or none),
    /// and says how to answer it. Appends are queued now, or committed at once on the calling
    /// event loop when `connection` has been appending alone (see ``SoleAppender``); nothing
    /// else runs yet.
    func prepare(_ request: RPCRequest, grant: TokenGrant?, connection: ObjectIdentifier) -> Work {
        let id = request.responseID
        do {
            let method = try authorize(request, grant: grant)
            switch method {
            case .systemInfo:
                _ = try request.decodeParams(NoParams.self)
                let info = SystemInfo(version: Self.version, protocolVersion: SystemInfo.protocolVersion,
                                      methods: Self.methods.map(\.rawValue))
                return .answered(RPCResponse.successLine(id: id, result: info))
            case .conversationAppend:
                let ticket = try enqueueAppend(request, grant: grant!, connection: connection)
                return .append(ticket) { outcome in
                    switch outcome {
                    case .success(let result):
                        RPCResponse.successLine(id: id, result: TranscriptAPI.AppendResult(
                            conversationID: result.conversationID, firstSeq: result.firstSeq, lastSeq: result.lastSeq))
                    case .failure(let error):
                        RPCResponse.failureLine(id: id, error: .from(error))
                    }
                }
            case .conversationDelete, .subjectErase, .subjectExport:
                return .background {
                    do {
                        return try await self.answerLong(method, request, grant: grant!)
                    } catch {
                        return RPCResponse.failureLine(id: id, error: .from(error))
                    }
                }
            default:
                return .inline {
                    do {
                        return try self.answer(method, request, grant: grant!)
                    } catch {
                        return RPCResponse.failureLine(id: id, error: .from(error))
                    }
                }
            }
        } catch {
            return .answered(RPCResponse.failureLine(id: id, error: .from(error)))
        }
    }

    /// The method, once the connection is known to be allowed to call it.
    private func authorize(_ request: RPCRequest, grant: TokenGrant?) throws -> RPCMethod {
        guard let method = RPCMethod(rawValue: request.method), Self.methods.contains(method), method != .auth else {
            throw RPCError.methodNotFound()
        }
        if method == .systemInfo { return method }
        guard let grant else { throw RPCError.unauthenticated("call auth first") }
        if let scope = method.requiredScope, !grant.scopes.contains(where: { $0.rawValue == scope.rawValue }) {
            throw RPCError.forbidden("the token lacks the \(scope.rawValue) scope")
        }
        if let rateLimiter, let wait = rateLimiter.acquire(grant.id) {
            throw RPCError.rateLimited(retryAfterMs: wait)
        }
        return method
    }

    private func enqueueAppend(_ request: RPCRequest, grant: TokenGrant, connection: ObjectIdentifier) throws -> AppendTicket {
        let params = try request.decodeParams(AppendParams.self)
        let tenant = try resolveTenant(params.tenant, grant: grant)
        if params.messages.count > limits.messagesPerAppend {
            throw RPCError.tooLarge("more than \(limits.messagesPerAppend) messages", field: "messages")
        }
        if params.messages.contains(where: { $0.count > limits.messageBytes }) {
            throw RPCError.tooLarge("a message is larger than \(limits.messageBytes) bytes", field: "messages")
        }
        if let metadata = params.metadata, metadata.count > limits.messageBytes {
            throw RPCError.tooLarge("metadata larger than \(limits.messageBytes) bytes", field: "metadata")
        }
        return try vault.enqueueAppend(AppendRequest(
            tenant: tenant, conversationID: params.conversationID, messages: params.messages,
            subjectID: params.subjectID, format: params.format, metadata: params.metadata,
            idempotencyKey: params.idempotencyKey), mayCommitHere: soleAppender.mayCommitInPlace(connection))
    }

    /// The quick methods, answered on the connection's event loop.
    private func answer(_ method: RPCMethod, _ request: RPCRequest, grant: TokenGrant) throws -> [UInt8] {
        switch method {
        case .conversationRead:
            let params = try request.decodeParams(ReadParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let page = try vault.read(tenant: tenant, conversationID: params.conversationID,
                                      afterSeq: params.afterSeq, limit: params.limit)
            let result = ReadResult(
                messages: page.messages.map { .init(seq: $0.seq, createdAtMs: $0.createdAt, message: $0.message) },
                nextAfterSeq: page.nextAfterSeq)
            return RPCResponse.successLine(id: request.responseID, result: result)
        case .conversationList:
            let params = try request.decodeParams(ListParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let page = try vault.list(tenant: tenant, query: ListQuery(
                subjectID: params.subjectID, updatedAfter: params.updatedAfter, updatedBefore: params.updatedBefore,
                limit: params.limit, cursor: params.cursor))
            let result = ListResult(
                conversations: page.conversations.map {
                    .init(conversationID: $0.conversationID, subjectID: $0.subjectID, format: $0.format, metadata: $0.metadata,
                          createdAtMs: $0.createdAt, updatedAtMs: $0.updatedAt, messageCount: $0.messageCount)
                },
                nextCursor: page.nextCursor)
            return RPCResponse.successLine(id: request.responseID, result: result)
        case .receiptGet:
            let params = try request.decodeParams(ReceiptParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let receipt = try vault.receipt(id: params.id, tenant: tenant)
            return RPCResponse.successLine(id: request.responseID, result: ReceiptResult(receipt: Self.wire(receipt)))
        default:
            throw RPCError.methodNotFound()
        }
    }

    /// The methods that write or gather much, run in a task.
    private func answerLong(_ method: RPCMethod, _ request: RPCRequest, grant: TokenGrant) async throws -> [UInt8] {
        switch method {
        case .conversationDelete:
            let params = try request.decodeParams(DeleteParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let receipt = try await vault.shredConversation(tenant: tenant, conversationID: params.conversationID)
            return RPCResponse.successLine(id: request.responseID) { writer in
                writer.object { writer in
                    writer.key("receipt")
                    Self.wire(receipt).write(to: &writer)
                }
            }
        case .subjectErase:
            let params = try request.decodeParams(SubjectParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let (receipt, count) = try await vault.eraseSubject(tenant: tenant, subjectID: params.subjectID)
            return RPCResponse.successLine(id: request.responseID, result: EraseResult(receipt: Self.wire(receipt), conversations: UInt64(count)))
        case .subjectExport:
            let params = try request.decodeParams(SubjectParams.self)
            let tenant = try resolveTenant(params.tenant, grant: grant)
            let exported = try await vault.exportSubject(tenant: tenant, subjectID: params.subjectID)
            let result = ExportResult(subjectID: params.subjectID, conversations: exported.map { item in
                let c = item.conversation
                return .init(
                    summary: .init(conversationID: c.conversationID, subjectID: c.subjectID, format: c.format, metadata: c.metadata,
                                   createdAtMs: c.createdAt, updatedAtMs: c.updatedAt, messageCount: c.messageCount),
                    messages: item.messages.map { .init(seq: $0.seq, createdAtMs: $0.createdAt, message: $0.message) })
            })
            return RPCResponse.successLine(id: request.responseID, result: result)
        default:
            throw RPCError.methodNotFound()
        }
    }

    /// The wire form of an engine receipt.
    static func wire(_ receipt: TranscriptVault.Receipt) -> TranscriptAPI.Receipt {
        let target: TranscriptAPI.Receipt.Target
        switch receipt.target {
        case .conversation: target = .conversation
        case .subject: target = .subject
        case .tenant: target = .tenant
        case .retention: target = .retention
        }
        return TranscriptAPI.Receipt(id: receipt.id, status: receipt.status == .erased ? .erased : .pending, target: target)
    }

    /// The tenant a request acts on: the named one if the token covers it, else the token's
    /// only tenant. A tenant outside the token is `forbidden` whether it exists or not, so the
    /// answer tells nothing about other tenants.
    func resolveTenant(_ named: String?, grant: TokenGrant) throws -> String {
        if let named {
            guard grant.covers(named) else { throw RPCError.forbidden("the token does not cover this tenant") }
            return named
        }
        guard let tenants = grant.tenants, tenants.count == 1 else {
            throw RPCError.invalidParams(field: "tenant", "required: the token covers more than one tenant")
        }
        return tenants[0]
    }
}
