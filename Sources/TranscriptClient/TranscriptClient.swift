public import NIOCore
internal import NIOPosix
public import TranscriptAPI

/// An async client for the TranscriptVault socket API.
///
/// Calls may be made concurrently from many tasks; they are pipelined on the one connection
/// and answered in order (each answer's id is checked). A cancelled call throws
/// `CancellationError` at once; its answer, when it comes, is dropped.
///
/// ```swift
/// let client = try await TranscriptClient.connect(socketPath: ".tvault/tvault.sock")
/// _ = try await client.auth(token: token)
/// let appended = try await client.append(AppendParams(conversationID: "c-1", messages: [Array(#"{"role":"user"}"#.utf8)]))
/// let page = try await client.read(ReadParams(conversationID: "c-1"))
/// try await client.close()
/// ```
public final class TranscriptClient: Sendable {
    let channel: any Channel
    private let nextID = IDCounter()
    /// The deepest response accepted: the default, then as deep as the server's request limit
    /// (from `auth`) allows a message to be, plus the response's own levels.
    private let responseDepth = Atomic<Int>(RPCResponse.defaultMaxDepth)

    init(channel: any Channel) { self.channel = channel }

    /// Connects to the server's socket at `socketPath`.
    public static func connect(socketPath: String, eventLoopGroup: (any EventLoopGroup)? = nil) async throws -> TranscriptClient {
        let channel = try await ClientBootstrap(group: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ResponseHandler()) }
            }
            .connect(unixDomainSocketPath: socketPath).get()
        return TranscriptClient(channel: channel)
    }

    /// Closes the connection; closing one the server has closed already is not an error.
    public func close() async throws {
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {
            return
        } catch {
            throw ClientError.connectionClosed
        }
    }

    /// Sends one raw line (a `\n` is added) and returns the raw response line, for tests of
    /// the wire format.
    public func sendRaw(_ line: [UInt8]) async throws -> [UInt8] {
        var buffer = channel.allocator.buffer(capacity: line.count + 1)
        buffer.writeBytes(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        channel.writeAndFlush(OutboundRequest(line: buffer, promise: promise), promise: Self.failing(promise))
        return try await Self.response(promise)
    }

    /// Sends raw bytes as they are, expecting no response (for partial or malformed framing).
    public func sendBytes(_ bytes: [UInt8]) async throws {
        do {
            try await channel.writeAndFlush(OutboundRequest(line: ByteBuffer(bytes: bytes), promise: nil))
        } catch {
            throw ClientError.connectionClosed
        }
    }

    /// Waits for the response to bytes sent with ``sendBytes(_:)``.
    public func expectResponse(after bytes: [UInt8]) async throws -> [UInt8] {
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        channel.writeAndFlush(OutboundRequest(line: ByteBuffer(bytes: bytes), promise: promise), promise: Self.failing(promise))
        return try await Self.response(promise)
    }

    /// Waits for `promise`'s response line; a cancelled caller stops waiting at once with
    /// `CancellationError`. The promise keeps its place among those waiting, so the answer,
    /// when it comes, is dropped and later answers still go to their own requests.
    private static func response(_ promise: EventLoopPromise<[UInt8]>) async throws -> [UInt8] {
        try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// A write promise that fails `response` when the write fails. A write on a closed channel
    /// never reaches the response handler (its handlers are gone), so without this the call
    /// would wait forever; a second completion of `response` is ignored.
    private static func failing(_ response: EventLoopPromise<[UInt8]>) -> EventLoopPromise<Void> {
        let written = response.futureResult.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in response.fail(ClientError.connectionClosed) }
        return written
    }

    /// Calls `method` and returns the decoded response.
    public func call(_ method: String, params: (any RPCParams)?) async throws -> RPCResponse {
        let id = RPCID(nextID.next())
        let line = RPCRequest.encodeLine(id: id, method: method, params: params)
        let response = try await sendRaw(Array(line.dropLast()))
        let decoded: RPCResponse
        do {
            decoded = try RPCResponse.decode(response, maxDepth: responseDepth.load(ordering: .relaxed))
        } catch {
            throw ClientError.malformedResponse(error.message)
        }
        // An error about a line whose id the server could not read (one over the line limit,
        // say) comes with a null id, in its place.
        let nullError: Bool
        if case .error = decoded.outcome { nullError = decoded.id == .null } else { nullError = false }
        guard decoded.id == id || nullError else {
            // Answers are matched by order: one out of place means every later one would go to
            // the wrong request. The connection is unusable.
            channel.close(promise: nil)
            throw ClientError.malformedResponse("the answer to request \(id) carries id \(decoded.id)")
        }
        return decoded
    }

    /// Calls `method` and decodes its result, throwing ``ClientError/server(_:)`` for an error.
    public func call<Result: RPCResult>(_ method: RPCMethod, params: (any RPCParams)?, as: Result.Type = Result.self) async throws -> Result {
        let response = try await call(method.rawValue, params: params)
        if case .error(let error) = response.outcome { throw ClientError.server(error) }
        do {
            return try response.decodeResult(Result.self)
        } catch {
            // The server answered, but not with what the method returns.
            throw ClientError.malformedResponse(error.message)
        }
    }

    /// Authenticates the connection with a bearer token.
    @discardableResult
    public func auth(token: String) async throws -> AuthResult {
        let result: AuthResult = try await call(.auth, params: AuthParams(token: token))
        let depth = result.limits.jsonDepth + (RPCResponse.defaultMaxDepth - StrictJSON.defaultMaxDepth)
        responseDepth.store(max(depth, RPCResponse.defaultMaxDepth), ordering: .relaxed)
        return result
    }

    /// The server's version and methods (no authentication needed).
    public func systemInfo() async throws -> SystemInfo {
        try await call(.systemInfo, params: nil)
    }

    /// Appends messages to a conversation.
    public func append(_ params: AppendParams) async throws -> AppendResult {
        try await call(.conversationAppend, params: params)
    }

    /// Reads a page of a conversation.
    public func read(_ params: ReadParams) async throws -> ReadResult {
        try await call(.conversationRead, params: params)
    }

    /// Lists conversations.
    public func list(_ params: ListParams) async throws -> ListResult {
        try await call(.conversationList, params: params)
    }
}

import Synchronization

/// Request ids for one connection.
final class IDCounter: Sendable {
    private let value = Atomic<Int64>(0)

    func next() -> Int64 { value.add(1, ordering: .relaxed).newValue }
}
