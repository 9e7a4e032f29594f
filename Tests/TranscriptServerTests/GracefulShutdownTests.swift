import Foundation
import ServiceLifecycle
import Synchronization
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// A graceful shutdown (what SIGTERM triggers in `tvault serve`) while clients are busy.
@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    /// An append the server acknowledged.
    struct Ack: Sendable {
        let conversation: String
        let seq: UInt64
        let message: [UInt8]
    }

    /// What one writer saw.
    struct WriterOutcome: Sendable {
        var acks: [Ack] = []
        var unavailable = 0
        var closed = false
        var unexpected: [String] = []
    }

    /// A counter shared by tasks.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func increment() { value.add(1, ordering: .relaxed) }
        var current: Int { value.load(ordering: .relaxed) }
    }

    /// Appends to `conversation` one message at a time until the connection is closed.
    static func write(_ client: TranscriptClient, conversation: String, progress: Counter) async -> WriterOutcome {
        var outcome = WriterOutcome()
        for index in 1...100_000 {
            let message = sampleMessage(conversation, index)
            do {
                let result = try await client.append(AppendParams(conversationID: conversation, messages: [message]))
                if result.firstSeq != UInt64(outcome.acks.count + 1) || result.lastSeq != result.firstSeq
                    || result.conversationID != conversation {
                    outcome.unexpected.append("append \(index) of \(conversation) answered \(result)")
                }
                outcome.acks.append(Ack(conversation: conversation, seq: result.firstSeq, message: message))
                progress.increment()
            } catch ClientError.connectionClosed {
                outcome.closed = true
                return outcome
            } catch let error as ClientError where error.rpcError?.code == RPCError.Code.unavailable {
                outcome.unavailable += 1
            } catch {
                outcome.unexpected.append("\(conversation): \(error)")
                return outcome
            }
        }
        outcome.unexpected.append("\(conversation): never closed")
        return outcome
    }

    /// Runs 8 clients (3 pipelined writers each) against a server, shuts it down under load,
    /// and returns the data directory and what the writers saw. The server and its vault are
    /// gone when this returns.
    static func loadAndShutdown() async throws -> (directory: String, outcomes: [WriterOutcome]) {
        let server = try await TestServer.start()
        let token = try await server.token(tenants: ["acme"])
        var clients: [TranscriptClient] = []
        for _ in 0..<8 { clients.append(try await server.client(token: token)) }
        let progress = Counter()
        let outcomes = try await withThrowingTaskGroup(of: WriterOutcome.self) { group in
            for (index, client) in clients.enumerated() {
                for lane in 0..<3 {
                    group.addTask { await write(client, conversation: "load-\(index)-\(lane)", progress: progress) }
                }
            }
            // Shut down in the middle of the load.
            while progress.current < 300 {
                try await Task.sleep(for: .milliseconds(5))
            }
            await server.group.triggerGracefulShutdown()
            var outcomes: [WriterOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let task = server.task
        try await within(20, "the server to stop") { try await task.value }
        // New connections are refused once the server has stopped.
        #expect(throws: (any Error).self) { _ = try RawSocket(path: server.socketPath) }
        server.vault.close()
        return (server.directory, outcomes)
    }

    /// Opens the store once the last server reference has let go of it.
    static func reopen(_ directory: String) async throws -> Vault {
        for _ in 0..<200 {
            do {
                return try Vault.open(TestServer.vaultConfiguration(directory))
            } catch VaultError.storeLocked {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        throw HarnessError("the stopped server still holds the data directory after 5 s")
    }

    @Test("shutdown during load: every acknowledged append is stored, byte for byte, after reopening")
    func shutdownDuringLoad() async throws {
        let (directory, outcomes) = try await Self.loadAndShutdown()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for outcome in outcomes {
            #expect(outcome.unexpected.isEmpty, "\(outcome.unexpected)")
            #expect(outcome.closed)
        }
        let acks = outcomes.flatMap(\.acks)
        #expect(acks.count >= 300)

        let vault = try await Self.reopen(directory)
        defer { vault.close() }
        for (conversation, conversationAcks) in Dictionary(grouping: acks, by: \.conversation) {
            var stored: [StoredMessage] = []
            var after: UInt64 = 0
            while true {
                let page = try vault.read(tenant: "acme", conversationID: conversation, afterSeq: after, limit: 1000)
                stored += page.messages
                guard let next = page.nextAfterSeq else { break }
                after = next
            }
            #expect(stored.map(\.seq) == Array(1...UInt64(stored.count)), "\(conversation)")
            for ack in conversationAcks {
                #expect(stored.indices.contains(Int(ack.seq) - 1) && stored[Int(ack.seq) - 1].message == ack.message,
                        "acknowledged seq \(ack.seq) of \(conversation) is missing or different")
            }
            // Every request the server read was answered before it closed the connection, so
            // nothing is stored that the client was not told about.
            #expect(stored.count == conversationAcks.count, "\(conversation): stored \(stored.count), acknowledged \(conversationAcks.count)")
        }
    }

    @Test("appends pipelined across a shutdown: successes in order, then only -32050, then the close")
    func pipelinedAcrossShutdown() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let socket = try await server.authenticatedRawSocket(token: token)

        let count = 3000
        var payload: [UInt8] = []
        for id in 1...count {
            payload += requestLine(id: id, "conversation.append", #"{"conversation_id":"p","messages":[{"i":\#(id)}]}"#) + [10]
        }
        let requests = payload
        let writer = Task { try? await offload { try socket.write(requests) } }
        let received = Counter()
        let reader = Task { try await offload { () -> [[UInt8]] in
            var lines: [[UInt8]] = []
            while let line = try socket.readLine(timeout: 20) {
                lines.append(line)
                received.increment()
            }
            return lines
        } }
        // Shut down as soon as the first answers arrive, while the rest are in flight.
        while received.current < 10 { try await Task.sleep(for: .milliseconds(1)) }
        await server.group.triggerGracefulShutdown()
        let lines = try await reader.value
        _ = await writer.value
        let task = server.task
        try await within(20, "the server to stop") { try await task.value }

        var successes: [UInt64] = []
        var refused = 0
        for (offset, line) in lines.enumerated() {
            let response = try RPCResponse.decode(line)
            #expect(response.id == RPCID(Int64(offset + 1)), "answers out of order")
            switch response.outcome {
            case .result:
                #expect(refused == 0, "a request read after the shutdown began was served")
                successes.append(try response.decodeResult(AppendResult.self).firstSeq)
            case .error(let error):
                #expect(error.code == RPCError.Code.unavailable)
                refused += 1
            }
        }
        #expect(successes.count >= 10)
        #expect(successes == Array(1...UInt64(successes.count)))
        #expect(lines.count <= count)

        let stored = try server.vault.read(tenant: "acme", conversationID: "p", limit: 1000)
        let all = try (stored.nextAfterSeq == nil ? stored.messages : stored.messages
            + server.vault.read(tenant: "acme", conversationID: "p", afterSeq: 1000, limit: 1000).messages
            + server.vault.read(tenant: "acme", conversationID: "p", afterSeq: 2000, limit: 1000).messages)
        #expect(all.count == successes.count)
        for message in all {
            #expect(message.message == bytes(#"{"i":\#(message.seq)}"#))
        }
        server.vault.close()
    }

    /// Checks that `responses` (to `system.info` requests numbered `ids`, in order) are answers
    /// up to some point and `-32050` after it, never a refusal before an answer; returns how
    /// many were answered.
    static func servedThenRefused(_ responses: [RPCResponse], ids: [RPCID]) -> Int {
        #expect(responses.map(\.id) == ids)
        var served = 0
        for (index, response) in responses.enumerated() {
            switch response.outcome {
            case .result:
                #expect(served == index, "request \(index + 1) was served after an earlier one was refused")
                #expect(throws: Never.self) { _ = try response.decodeResult(SystemInfo.self) }
                served += 1
            case .error(let error):
                #expect(error.code == RPCError.Code.unavailable)
            }
        }
        return served
    }

    @Test("a connection that still owes answers stays open through the shutdown and answers new requests -32050")
    func unavailableAfterShutdownBegan() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let socket = try await server.authenticatedRawSocket(token: token)

        // Long ids make long answers: unread, they fill the socket buffers, so the server
        // cannot finish writing and the connection owes answers when the shutdown begins.
        let early = LongAnswers.requests(1...100)
        try await offload { try socket.write(early) }
        await server.group.triggerGracefulShutdown()
        // The listener closes when the shutdown has begun.
        for _ in 0..<200 {
            guard (try? RawSocket(path: server.socketPath)) != nil else { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(50))
        let late: [UInt8] = (101...110).flatMap { requestLine(id: $0, "conversation.append", #"{"conversation_id":"late","messages":[{"a":1}]}"#) + [10] }
        try await offload { try socket.write(late) }

        let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
        let task = server.task
        try await within(20, "the server to stop") { try await task.value }
        #expect(lines.count == 110)
        let responses = try lines.map { try RPCResponse.decode($0) }
        // The early requests the server read before the shutdown began are answered; any it
        // had not read yet are refused like the late ones (never the other way round).
        #expect(Self.servedThenRefused(Array(responses.prefix(100)), ids: (1...100).map(LongAnswers.id)) > 0)
        for (index, response) in responses.dropFirst(100).enumerated() {
            #expect(response.id == RPCID(Int64(101 + index)))
            guard case .error(let error) = response.outcome else {
                Issue.record("request \(101 + index), read after the shutdown began, was served")
                continue
            }
            #expect(error.code == RPCError.Code.unavailable)
            #expect(error.name == "tvault.Unavailable")
        }
        #expect(throws: VaultError.notFound) { _ = try server.vault.read(tenant: "acme", conversationID: "late") }
        server.vault.close()
    }

    @Test("lines read but not yet started when the shutdown begins are each answered or refused, in order, before the close")
    func heldLinesAcrossShutdown() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let socket = try await server.authenticatedRawSocket(token: token)
        // 20 answers of 20 KB, unread, fill the socket buffers; behind them, with 256 requests
        // owed, the server stops starting the requests it has read and holds their lines.
        let count = 320
        let requests = LongAnswers.requests(1...20) + (21...count).flatMap { requestLine(id: $0, "system.info") + [10] }
        let writer = Task { try await offload { try socket.write(requests) } }
        try await Task.sleep(for: .milliseconds(300))
        await server.group.triggerGracefulShutdown()
        let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
        try await writer.value
        let task = server.task
        try await within(20, "the server to stop") { try await task.value }
        #expect(lines.count == count, "requests read were neither answered nor refused")
        let ids = (1...20).map(LongAnswers.id) + (21...count).map { RPCID(Int64($0)) }
        #expect(Self.servedThenRefused(try lines.map { try RPCResponse.decode($0) }, ids: ids) > 0)
        server.vault.close()
    }

    @Test("a client that reads none of its answers holds a shutdown only for the grace, then is closed")
    func graceForClientsNotReading() async throws {
        let server = try await TestServer.start { $0.shutdownGrace = .milliseconds(500) }
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let socket = try await server.authenticatedRawSocket(token: token)
        // Answers of 20 KB each, never read: the connection owes answers for as long as the
        // client does not read (its idle timeout is 5 minutes).
        let requests = LongAnswers.requests(1...100)
        try await offload { try socket.write(requests) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!socket.isClosedByPeer())
        // The shutdown ends (the bound only detects a hang; the idle timeout is 300 s) ...
        try await server.shutdown(timeout: 60)
        // ... having closed the connection: what it still owed is dropped.
        try await offload { try socket.waitForClose(timeout: 30) }
        server.vault.close()
    }

    @Test("idle connections are closed by a graceful shutdown and the sockets disappear")
    func idleConnectionsClosed() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let idle = try await server.authenticatedRawSocket(token: token)
        let unauthenticated = try RawSocket(path: server.socketPath)
        try await server.shutdown()
        try await offload { try idle.waitForClose(timeout: 5) }
        try await offload { try unauthenticated.waitForClose(timeout: 5) }
        #expect(!FileManager.default.fileExists(atPath: server.socketPath))
        #expect(!FileManager.default.fileExists(atPath: server.adminSocketPath))
        server.vault.close()
    }

    @Test("connections that arrive while the server shuts down are each answered or refused, then closed")
    func connectionsArrivingDuringShutdown() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let token = try await server.token(tenants: ["acme"])
        let unexpected = try await Self.connectWhileStopping(
            server, path: server.socketPath, request: requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#)
        ) { (try? $0.decodeResult(AuthResult.self)) != nil }
        #expect(unexpected.isEmpty, "\(unexpected.prefix(3))")
        server.vault.close()
    }

    @Test("admin connections that arrive while the server shuts down are each answered or refused, then closed")
    func adminConnectionsArrivingDuringShutdown() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let unexpected = try await Self.connectWhileStopping(
            server, path: server.adminSocketPath, request: requestLine(id: 1, "status")
        ) { if case .result = $0.outcome { true } else { false } }
        #expect(unexpected.isEmpty, "\(unexpected.prefix(3))")
        server.vault.close()
    }

    /// Two threads connect to `path` and send `request` as fast as they can while the server
    /// shuts down, so that some connections are accepted in the moment it stops accepting.
    /// Each must get an answer (`isAnswer`) or an unavailable refusal (or nothing, if the
    /// listener closed before accepting it), and then be closed: `waitForClose` throws if not
    /// (a connection accepted as the listener closed was once left open). Returns the lines
    /// that were neither.
    static func connectWhileStopping(
        _ server: TestServer, path: String, request: [UInt8], isAnswer: @escaping @Sendable (RPCResponse) -> Bool
    ) async throws -> [String] {
        let line = request + [10]
        let connected = Counter()
        let connectors = (0..<2).map { _ in
            Task {
                try await offload { () -> [RawSocket] in
                    var sockets: [RawSocket] = []
                    while sockets.count < 400, let socket = try? RawSocket(path: path) {
                        try? socket.write(line)
                        sockets.append(socket)
                        connected.increment()
                    }
                    return sockets
                }
            }
        }
        try await within(30, "the first connections") {
            while connected.current < 40 { try await Task.sleep(for: .milliseconds(1)) }
        }
        try await server.shutdown()
        var sockets: [RawSocket] = []
        for connector in connectors { sockets += try await connector.value }
        #expect(!sockets.isEmpty)
        return try await offload { [sockets] () -> [String] in
            var unexpected: [String] = []
            for socket in sockets {
                if let answer = try socket.readLine(timeout: 5) {
                    let response = try RPCResponse.decode(answer)
                    let refused = if case .error(let error) = response.outcome { error.code == RPCError.Code.unavailable } else { false }
                    if !isAnswer(response) && !refused { unexpected.append(String(decoding: answer, as: UTF8.self)) }
                }
                try socket.waitForClose(timeout: 5)
            }
            return unexpected
        }
    }

    @Test("an open admin connection does not hold up a graceful shutdown")
    func adminConnectionDoesNotBlockShutdown() async throws {
        let server = try await TestServer.start(configure: { $0.limits.idleTimeoutMs = 60_000 })
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let admin = try await server.adminClient()
        _ = try await admin.sendRaw(requestLine(id: 1, "status"))
        // The admin connection would hold a shutdown forever (admin.sock has no idle timeout);
        // 30 s tells that apart from a slow machine.
        let outcome = await server.shutdownOutcome(timeout: 30)
        #expect(throws: Never.self) { try outcome.get() }
        try? await admin.close()
        await server.finishAndClose(within: 60)
    }
}
