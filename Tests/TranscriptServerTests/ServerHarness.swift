import Foundation
import Logging
import ServiceLifecycle
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// A server over a fresh store, running in a `ServiceGroup` as `tvault serve` runs it.
///
/// The data directory is short (`/tmp/tvs-<random>`), because a Unix socket path must fit in
/// 107 bytes. Stores skip fsync: durability across a crash is the crash harness's business;
/// these tests reopen the store in the same process, where written pages are always seen.
final class TestServer: Sendable {
    let directory: String
    let vault: Vault
    let configuration: ServerConfiguration
    /// The server itself, for tests that look inside it.
    let server: TranscriptServer
    let group: ServiceGroup
    let task: Task<Void, any Error>

    var socketPath: String { configuration.socketPath }
    var adminSocketPath: String { configuration.adminSocketPath }

    private init(
        directory: String, vault: Vault, configuration: ServerConfiguration, server: TranscriptServer, group: ServiceGroup,
        task: Task<Void, any Error>
    ) {
        self.directory = directory
        self.vault = vault
        self.configuration = configuration
        self.server = server
        self.group = group
        self.task = task
    }

    /// Initialises a store with `tenants` and starts a server on it; returns once it listens.
    static func start(
        tenants: [String] = ["acme"], configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = try makeShortTemporaryDirectory()
        do {
            let vault = try Vault.initialize(vaultConfiguration(directory))
            for tenant in tenants { _ = try await vault.createTenant(tenant) }
            var configuration = ServerConfiguration(dataDirectory: vault.dataDirectory)
            configuration.useSocketActivation = false
            configuration.threads = 2
            // Many tests talk on connections that never authenticate. The whole suite runs in
            // parallel on as few as two cores, where a test can outlast the 10 s default
            // deadline before auth; the tests of that deadline set their own.
            configuration.limits.unauthenticatedIdleTimeoutMs = 300_000
            configure(&configuration)
            let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
            let server = TranscriptServer(vault: vault, configuration: configuration, logger: quietLogger) { _ in
                readyContinuation.yield()
            }
            let group = ServiceGroup(services: [server], logger: quietLogger)
            let task = Task {
                defer { readyContinuation.finish() }
                try await group.run()
            }
            var iterator = ready.makeAsyncIterator()
            guard await iterator.next() != nil else {
                try await task.value
                throw HarnessError("the server stopped before it was ready")
            }
            return TestServer(directory: directory, vault: vault, configuration: configuration, server: server, group: group, task: task)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// The vault configuration the tests use for `directory`.
    static func vaultConfiguration(_ directory: String) -> Vault.Configuration {
        var configuration = Vault.Configuration(dataDirectory: directory)
        configuration.durable = false
        configuration.initialMapSize = 8 << 20
        return configuration
    }

    /// Starts a graceful shutdown (as SIGTERM does) and waits for the server to return. The
    /// timeout detects a hang, nothing more: the whole suite shares as few as two cores.
    func shutdown(timeout: Double = 60) async throws {
        await group.triggerGracefulShutdown()
        let task = task
        try await within(timeout, "the server to stop after a graceful shutdown") { try await task.value }
    }

    /// ``shutdown(timeout:)``'s outcome, for a test that expects it to succeed and must still
    /// clean up (``finishAndClose(within:)``) when it does not.
    func shutdownOutcome(timeout: Double) async -> Result<Void, any Error> {
        do {
            try await shutdown(timeout: timeout)
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Waits for the server to stop, however the test went, so that the store can be closed;
    /// then closes it.
    func finishAndClose(within seconds: Double) async {
        let task = task
        _ = try? await within(seconds, "the server to stop") { try await task.value }
        vault.close()
    }

    /// Shuts down, closes the vault and removes the directory.
    func stop() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try await shutdown()
        } catch {
            vault.close()
            throw error
        }
        vault.close()
    }

    /// A new connection to the client socket.
    func connect() async throws -> TranscriptClient {
        try await TranscriptClient.connect(socketPath: socketPath)
    }

    /// A new connection that has authenticated with `token`.
    func client(token: String) async throws -> TranscriptClient {
        let client = try await connect()
        try await client.auth(token: token)
        return client
    }

    /// A plain socket to the client socket, authenticated with `token` (the answer checked).
    func authenticatedRawSocket(token: String) async throws -> RawSocket {
        let socket = try RawSocket(path: socketPath)
        try socket.write(requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10])
        _ = try RPCResponse.decode(try #require(try await offload { try socket.readLine() })).decodeResult(AuthResult.self)
        return socket
    }

    /// A new connection to the admin socket.
    func adminClient() async throws -> TranscriptClient {
        try await TranscriptClient.connect(socketPath: adminSocketPath)
    }

    /// Issues a token through the engine.
    func token(tenants: [String]?, scopes: Set<TokenScope> = [.append, .read, .list]) async throws -> String {
        try await vault.issueToken(tenants: tenants, scopes: scopes).token
    }
}

/// Runs `body` with a fresh server, stopping it (and removing its directory) afterwards.
func withServer<R>(
    tenants: [String] = ["acme"], configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (TestServer) async throws -> R
) async throws -> R {
    let server = try await TestServer.start(tenants: tenants, configure: configure)
    let result: R
    do {
        result = try await body(server)
    } catch {
        try? await server.stop()
        throw error
    }
    try await server.stop()
    return result
}

/// The wire type, not the engine's type of the same name.
typealias AppendResult = TranscriptAPI.AppendResult

/// A logger that drops everything, so that test output stays readable; with
/// `TVAULT_TEST_LOG=1` in the environment it logs at debug level to stderr instead.
let quietLogger: Logger = {
    guard ProcessInfo.processInfo.environment["TVAULT_TEST_LOG"] == "1" else {
        return Logger(label: "tvault.tests") { _ in SwiftLogNoOpLogHandler() }
    }
    var logger = Logger(label: "tvault.tests") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .debug
    return logger
}()

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `/tmp/tvs-<random>`, mode 0700: short enough for socket paths.
func makeShortTemporaryDirectory() throws -> String {
    let path = "/tmp/tvs-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    return path
}

// MARK: - Lines and responses

/// UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// `system.info` requests with ids padded to 20 KB, so that their answers are long: a client
/// that does not read them fills the socket buffers and the connection owes answers.
enum LongAnswers {
    static let padding = String(repeating: "p", count: 20_000)

    /// The id of request `number`.
    static func id(_ number: Int) -> RPCID { RPCID("\(number)-\(padding)") }

    /// The request lines numbered `numbers`, each ending in `\n`.
    static func requests(_ numbers: ClosedRange<Int>) -> [UInt8] {
        numbers.flatMap { bytes(#"{"jsonrpc":"2.0","method":"system.info","id":"\#($0)-\#(padding)"}"#) + [10] }
    }
}

/// A request line (without its newline): `params` is spliced in as written.
func requestLine(id: Int?, _ method: String, _ params: String? = nil) -> [UInt8] {
    var text = #"{"jsonrpc":"2.0","method":"\#(method)""#
    if let params { text += #","params":"# + params }
    if let id { text += #","id":\#(id)"# }
    return bytes(text + "}")
}

/// A decoded error response.
struct ErrorAnswer: Sendable {
    let id: RPCID
    let error: RPCError
}

/// Decodes `line` as an error response, or fails the test.
func errorAnswer(_ line: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> ErrorAnswer {
    let response = try RPCResponse.decode(line)
    guard case .error(let error) = response.outcome else {
        throw HarnessError("expected an error, got \(String(decoding: line, as: UTF8.self))")
    }
    return ErrorAnswer(id: response.id, error: error)
}

/// Decodes `line` as a success response and returns the result's members.
func resultObject(_ line: [UInt8]) throws -> (id: RPCID, result: JSONObject) {
    let response = try RPCResponse.decode(line)
    guard case .result(let node) = response.outcome, case .object(let object) = node.value else {
        throw HarnessError("expected a result object, got \(String(decoding: line, as: UTF8.self))")
    }
    return (response.id, object)
}

/// The server error a client call threw, or `nil` for anything else.
func serverError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as ClientError {
        return error.rpcError
    } catch {
        return nil
    }
}

/// A small message object whose bytes identify `tag` and `index`.
func sampleMessage(_ tag: String, _ index: Int) -> [UInt8] {
    bytes(#"{"role":"user","tag":"\#(tag)","i":\#(index),"content":"message \#(index) of \#(tag)"}"#)
}

extension TranscriptClient {
    /// Every message of a conversation, following `next_after_seq` to the end.
    func readAll(tenant: String? = nil, conversation: String) async throws -> [ReadResult.Message] {
        var messages: [ReadResult.Message] = []
        var after: UInt64 = 0
        while true {
            let page = try await read(ReadParams(tenant: tenant, conversationID: conversation, afterSeq: after, limit: 1000))
            messages += page.messages
            guard let next = page.nextAfterSeq else { return messages }
            after = next
        }
    }
}
