import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// Over-long lines, idle and slow clients: each is answered or closed, and nobody else notices.
@Suite("Connection limits")
struct ConnectionLimitTests {
    /// A small line limit; long idle timeouts, so that a slow machine closes nothing here.
    static func smallLines(_ configuration: inout ServerConfiguration) {
        configuration.limits.lineBytes = 64 << 10
    }

    /// A short deadline before auth; a long idle timeout after it.
    static func shortAuthDeadline(_ configuration: inout ServerConfiguration) {
        configuration.limits.unauthenticatedIdleTimeoutMs = 300
        configuration.limits.idleTimeoutMs = 30_000
    }

    /// A short idle timeout after auth (and a long deadline before it, so that a slow machine
    /// always authenticates in time).
    static func shortIdle(_ configuration: inout ServerConfiguration) {
        configuration.limits.unauthenticatedIdleTimeoutMs = 10_000
        configuration.limits.idleTimeoutMs = 1500
    }

    @Test("an over-long line is answered with -32013, then the connection is closed; nothing else changes")
    func overLongLine() async throws {
        try await withServer(configure: Self.smallLines) { server in
            let token = try await server.token(tenants: ["acme"])
            let bystander = try await server.client(token: token)
            _ = try await bystander.append(AppendParams(conversationID: "c", messages: [sampleMessage("kept", 1)]))

            let victim = try await server.client(token: token)
            let huge = #"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[{"x":""#
                + String(repeating: "x", count: 70 << 10) + #""}]},"id":9}"#
            let answer = try errorAnswer(try await victim.sendRaw(bytes(huge)))
            #expect(answer.error.code == RPCError.Code.tooLarge)
            #expect(answer.error.name == "tvault.TooLarge")
            #expect(answer.id == RPCID.null)

            // The connection is closed: the next call fails rather than being answered (or hanging).
            let next = try await within(5, "a call on the closed connection to fail") {
                do {
                    _ = try await victim.systemInfo()
                    return nil as ClientError?
                } catch let error as ClientError {
                    return error
                }
            }
            #expect(next == .connectionClosed)

            // The other connection is unaffected, and the conversation is as it was.
            let stored = try await bystander.readAll(conversation: "c")
            #expect(stored.map(\.message) == [sampleMessage("kept", 1)])
            _ = try await bystander.append(AppendParams(conversationID: "c", messages: [sampleMessage("kept", 2)]))
            try await bystander.close()
        }
    }

    @Test("an over-long line without any newline is answered as soon as it passes the limit")
    func overLongWithoutNewline() async throws {
        try await withServer(configure: Self.smallLines) { server in
            let socket = try RawSocket(path: server.socketPath)
            let writer = Task { try? await offload { try socket.write(Array(repeating: UInt8(ascii: "a"), count: (64 << 10) + 1)) } }
            let line = try await offload { try socket.readLine(timeout: 5) }
            _ = await writer.value
            #expect(try errorAnswer(try #require(line)).error.code == RPCError.Code.tooLarge)
            try await offload { try socket.waitForClose(timeout: 5) }
        }
    }

    @Test("a line exactly at the limit is served")
    func lineAtLimit() async throws {
        try await withServer(configure: Self.smallLines) { server in
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            let prefix = #"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[{"x":""#
            let suffix = #""}]},"id":1}"#
            let line = prefix + String(repeating: "y", count: (64 << 10) - prefix.utf8.count - suffix.utf8.count) + suffix
            #expect(line.utf8.count == 64 << 10)
            let result = try RPCResponse.decode(try await client.sendRaw(bytes(line))).decodeResult(AppendResult.self)
            #expect(result.firstSeq == 1)
            try await client.close()
        }
    }

    @Test("before auth a line may be 64 KiB: one longer is -32013 and closed; after auth the configured limit holds, also for a line pipelined behind auth")
    func smallLimitBeforeAuth() async throws {
        try await withServer { server in
            #expect(server.configuration.limits.lineBytes > 1 << 20)
            // At 64 KiB, an unauthenticated line is read (and refused as unauthenticated).
            let atLimit = try RawSocket(path: server.socketPath)
            let prefix = #"{"jsonrpc":"2.0","method":"conversation.append","params":{"conversation_id":"c","messages":[{"x":""#
            let suffix = #""}]},"id":1}"#
            @Sendable func line(_ length: Int) -> [UInt8] {
                bytes(prefix + String(repeating: "y", count: length - prefix.utf8.count - suffix.utf8.count) + suffix)
            }
            try atLimit.write(line(64 << 10) + [10])
            let refused = try await offload { try atLimit.readLine(timeout: 10) }
            #expect(try errorAnswer(try #require(refused)).error.code == RPCError.Code.unauthenticated)
            #expect(!atLimit.isClosedByPeer())

            // One byte more: answered -32013, then closed.
            let over = try RawSocket(path: server.socketPath)
            let overLine = line((64 << 10) + 1) + [10]
            let writer = Task { try? await offload { try over.write(overLine) } }
            let answer = try await offload { try over.readLine(timeout: 10) }
            _ = await writer.value
            let error = try errorAnswer(try #require(answer)).error
            #expect(error.code == RPCError.Code.tooLarge)
            #expect(error.message.contains("before auth"))
            try await offload { try over.waitForClose(timeout: 10) }

            // Pipelined behind a successful auth, in the same write, a 1 MiB line is served.
            let token = try await server.token(tenants: ["acme"])
            let pipelined = try RawSocket(path: server.socketPath)
            try pipelined.write(requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10] + line(1 << 20) + [10])
            let lines = try await offload { try pipelined.readLines(2, timeout: 30) }
            _ = try RPCResponse.decode(lines[0]).decodeResult(AuthResult.self)
            #expect(try RPCResponse.decode(lines[1]).decodeResult(AppendResult.self).firstSeq == 1)
        }
    }

    @Test("a connection gets 64 refused requests answered before it authenticates; the next is -32001 and it is closed; system.info is not counted")
    func linesBeforeAuth() async throws {
        try await withServer { server in
            let socket = try RawSocket(path: server.socketPath)
            // Empty lines, never a request: each is answered -32700. A client sending them
            // without reading would otherwise make answers pile up.
            try socket.write(Array(repeating: 10, count: 200))
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 10) }
            #expect(lines.count == 65)
            for line in lines.prefix(64) {
                #expect(try errorAnswer(line).error.code == RPCError.Code.parseError)
            }
            let last = try errorAnswer(try #require(lines.last)).error
            #expect(last.code == RPCError.Code.unauthenticated)
            #expect(last.message.contains("before auth"))

            // system.info, answered without a token, is not counted.
            let monitor = try RawSocket(path: server.socketPath)
            try monitor.write((1...100).flatMap { requestLine(id: $0, "system.info") + [10] })
            let infos = try await offload { try monitor.readLines(100, timeout: 30) }
            for (index, line) in infos.enumerated() {
                let response = try RPCResponse.decode(line)
                #expect(response.id == RPCID(Int64(index + 1)))
                _ = try response.decodeResult(SystemInfo.self)
            }
            #expect(!monitor.isClosedByPeer())

            // An authenticated connection is not counted so.
            let client = try await server.client(token: try await server.token(tenants: ["acme"]))
            for index in 0..<100 {
                _ = try await client.append(AppendParams(conversationID: "c", messages: [sampleMessage("a", index)]))
            }
            #expect(try await client.readAll(conversation: "c").count == 100)
            try await client.close()
        }
    }

    @Test("the refusal that closes a connection before auth carries the request's id; a notification gets none")
    func lastRefusalBeforeAuth() async throws {
        try await withServer { server in
            let refused = (1...64).flatMap { requestLine(id: $0, "conversation.read", #"{"conversation_id":"c"}"#) + [10] }
            let socket = try RawSocket(path: server.socketPath)
            try socket.write(refused + requestLine(id: 65, "conversation.read", #"{"conversation_id":"c"}"#) + [10])
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 10) }
            #expect(lines.count == 65)
            for (index, line) in lines.enumerated() {
                let answer = try errorAnswer(line)
                #expect(answer.id == RPCID(Int64(index + 1)))
                #expect(answer.error.code == RPCError.Code.unauthenticated)
            }
            #expect(try errorAnswer(try #require(lines.last)).error.message.contains("before auth"))

            let quiet = try RawSocket(path: server.socketPath)
            try quiet.write(refused + requestLine(id: nil, "conversation.read", #"{"conversation_id":"c"}"#) + [10])
            let answered = try await offload { try quiet.readLinesUntilClose(timeout: 10) }
            #expect(answered.count == 64, "the notification that ended the connection was answered")
        }
    }

    @Test("refusals before auth count afresh once a connection has authenticated: one that loses its grant again gets 64 more")
    func refusalsCountAfreshAfterAuth() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let read = { (id: Int) in requestLine(id: id, "conversation.read", #"{"conversation_id":"c"}"#) + [10] }
            var pipeline = (1...60).flatMap(read)
            pipeline += requestLine(id: 61, "auth", #"{"token":"\#(token)"}"#) + [10]
            // A failed auth leaves the connection unauthenticated again (and is a refusal).
            pipeline += requestLine(id: 62, "auth", #"{"token":"tvt_nosuchid_nosuchsecret"}"#) + [10]
            pipeline += (63...126).flatMap(read)
            let socket = try RawSocket(path: server.socketPath)
            try socket.write(pipeline)
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 10) }
            try #require(lines.count == 126, "answered \(lines.count) of 126 before the close")
            for (index, line) in lines.enumerated() where index != 60 {
                let answer = try errorAnswer(line)
                #expect(answer.id == RPCID(Int64(index + 1)))
                #expect(answer.error.code == RPCError.Code.unauthenticated)
                #expect(answer.error.message.contains("before auth") == (index == 125), "answer \(index + 1): \(answer.error.message)")
            }
            let authenticated = try RPCResponse.decode(lines[60])
            #expect(authenticated.id == RPCID(61))
            #expect(try authenticated.decodeResult(AuthResult.self).tenants == ["acme"])
        }
    }

    @Test("an unauthenticated connection is closed after its deadline, however slowly it drips bytes")
    func unauthenticatedDrip() async throws {
        try await withServer(configure: Self.shortAuthDeadline) { server in
            let socket = try RawSocket(path: server.socketPath)
            let started = ContinuousClock.now
            // One byte every 100 ms of a request that never ends; stop when the server hangs up.
            // The time is taken on the dripping thread, when it sees the close: a test task
            // resumed late on a busy cooperative pool must not count.
            let (closed, elapsed) = try await offload { () -> (Bool, Duration) in
                func drip() -> Bool {
                    for byte in Array(#"{"jsonrpc":"2.0","method":"auth","params":{"token":"tvt_"#.utf8) + Array(repeating: UInt8(ascii: "a"), count: 100) {
                        if socket.isClosedByPeer() { return true }
                        do { try socket.write([byte]) } catch { return true }
                        Thread.sleep(forTimeInterval: 0.1)
                    }
                    return false
                }
                let closed = drip()
                return (closed, ContinuousClock.now - started)
            }
            #expect(closed, "still open after 10 s of dripping")
            #expect(elapsed >= .milliseconds(250))
            #expect(elapsed < .seconds(5))
        }
    }

    @Test("an unauthenticated connection that sends nothing, or only other requests, is closed")
    func unauthenticatedIdle() async throws {
        try await withServer(configure: Self.shortAuthDeadline) { server in
            let silent = try RawSocket(path: server.socketPath)
            let started = ContinuousClock.now
            try await offload { try silent.waitForClose(timeout: 5) }
            #expect(ContinuousClock.now - started >= .milliseconds(250))

            // Requests other than auth do not extend the deadline either.
            let busy = try RawSocket(path: server.socketPath)
            let answered = try await offload { () -> Int in
                var answered = 0
                for id in 0..<50 {
                    guard (try? busy.write(requestLine(id: id, "system.info") + [10])) != nil,
                          (try? busy.readLine(timeout: 2)) != nil else { return answered }
                    answered += 1
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return answered
            }
            #expect(answered < 50, "system.info kept an unauthenticated connection open")
        }
    }

    /// Connects and authenticates, trying again (five times at most) when the machine is too
    /// busy: when the answer comes `budget` or more after the connect, or the connection is
    /// closed unanswered once the server's `deadline` before auth has passed. A late answer
    /// proves nothing about the deadline. Returns the socket and when it connected.
    static func authenticatedInTime(
        _ server: TestServer, token: String, deadline: Duration, budget: Duration
    ) async throws -> (RawSocket, ContinuousClock.Instant)? {
        for _ in 0..<5 {
            let socket = try RawSocket(path: server.socketPath)
            let connected = ContinuousClock.now
            try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10])
            let auth = try? await offload { try socket.readLine(timeout: 10) }
            let waited = ContinuousClock.now - connected
            if auth == nil && waited >= deadline { continue }
            guard waited < budget else { continue }
            _ = try RPCResponse.decode(try #require(auth, "closed before its deadline, unanswered")).decodeResult(AuthResult.self)
            return (socket, connected)
        }
        return nil
    }

    /// A plain socket authenticated with `token` within the short deadline before auth
    /// (``shortAuthDeadline``), returned once that deadline, counted from the connect, is past:
    /// as any connection that has been in use a while.
    static func authenticatedPastDeadline(_ server: TestServer, token: String) async throws -> RawSocket {
        let authenticated = try await authenticatedInTime(server, token: token, deadline: .milliseconds(300), budget: .seconds(10))
        let (socket, connected) = try #require(authenticated, "could not authenticate within the deadline in five tries")
        try await Task.sleep(until: connected + .milliseconds(600))
        return socket
    }

    @Test("a connection that authenticates outlives the deadline before auth")
    func authenticatedOutlivesDeadline() async throws {
        try await withServer(configure: {
            $0.limits.unauthenticatedIdleTimeoutMs = 3000
            $0.limits.idleTimeoutMs = 60_000
        }) { server in
            let token = try await server.token(tenants: ["acme"])
            // The deadline is generous because the whole suite runs in parallel on two cores.
            let authenticated = try await Self.authenticatedInTime(server, token: token, deadline: .seconds(3), budget: .milliseconds(2500))
            let (socket, connected) = try #require(authenticated, "could not authenticate within 2.5 s in five tries")
            try await Task.sleep(until: connected + .milliseconds(4000))
            try socket.write(requestLine(id: 2, "system.info") + [10])
            let info = try await offload { try socket.readLine() }
            #expect(info != nil, "the connection was closed by the deadline before auth, after authenticating")
        }
    }

    @Test("a failed auth on an authenticated connection leaves it unauthenticated: past the deadline after connecting, it is closed once the refusal is written")
    func failedReauthCloses() async throws {
        try await withServer(configure: Self.shortAuthDeadline) { server in
            let token = try await server.token(tenants: ["acme"])
            // Past the deadline, authenticated: still served.
            let socket = try await Self.authenticatedPastDeadline(server, token: token)
            try socket.write(requestLine(id: 2, "system.info") + [10])
            _ = try RPCResponse.decode(try #require(try await offload { try socket.readLine(timeout: 10) }))
                .decodeResult(SystemInfo.self)
            try socket.write(requestLine(id: 3, "auth", #"{"token":"tvt_nobody_secret"}"#) + [10])
            // The bound detects a connection left open only.
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
            #expect(lines.count == 1)
            let refusal = try errorAnswer(try #require(lines.first))
            #expect(refusal.id == RPCID(3))
            #expect(refusal.error.code == RPCError.Code.unauthenticated)
        }
    }

    @Test("an authenticated idle connection is closed after the idle timeout; activity keeps it open")
    func authenticatedIdle() async throws {
        try await withServer(configure: Self.shortIdle) { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10])
            let started = ContinuousClock.now
            // Read and timed on one thread of its own, up to the close: a test task resumed late
            // on a busy cooperative pool must not count.
            let (auth, elapsed) = try await offload { () -> ([UInt8]?, Duration) in
                let auth = try socket.readLine()
                try socket.waitForClose(timeout: 10)
                return (auth, ContinuousClock.now - started)
            }
            _ = try RPCResponse.decode(try #require(auth)).decodeResult(AuthResult.self)
            #expect(elapsed >= .milliseconds(1400))
            // Well before the 10 s deadline for unauthenticated connections, which is not the
            // one that applies any more.
            #expect(elapsed < .seconds(8))

            // A connection that keeps talking outlives the idle timeout several times over. It
            // talks from a thread of its own: a continuation on the cooperative pool can wait
            // longer than the timeout while the rest of the suite runs on two cores. A run in
            // which the client itself fell silent for the timeout proves nothing, and is repeated.
            var concluded = false
            for _ in 0..<3 where !concluded {
                let run = try await offload { try Self.talk(to: server.socketPath, token: token, for: 2.5, every: 0.1) }
                if run.longestSilence >= 1.5 { continue }
                concluded = true
                #expect(run.closedAfter == nil, """
                    closed after \(run.closedAfter ?? 0) s of requests every 0.1 s; the client's \
                    longest silence was \(run.longestSilence) s, the idle timeout 1.5 s
                    """)
            }
            #expect(concluded, "the client fell silent for the idle timeout in three tries")
        }
    }

    @Test("a request that runs longer than the idle timeout is answered, and the timeout counts from its answer")
    func busyIsNotIdle() async throws {
        // A 1 ms idle timeout: an erase of 2,000 messages in 20 conversations runs far longer.
        try await withServer(configure: { $0.limits.idleTimeoutMs = 1 }) { server in
            for conversation in 0..<20 {
                _ = try await server.vault.append(AppendRequest(
                    tenant: "acme", conversationID: "c\(conversation)",
                    messages: (0..<100).map { sampleMessage("m\(conversation)", $0) }, subjectID: "s"))
            }
            let token = try await server.token(tenants: ["acme"], scopes: Set(TokenScope.allCases))
            let socket = try RawSocket(path: server.socketPath)
            // Both lines in one write: nothing idles between the auth and the erase.
            try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10]
                + requestLine(id: 2, "subject.erase", #"{"subject_id":"s"}"#) + [10])
            let sent = ContinuousClock.now
            let auth = try await offload { try socket.readLine() }
            _ = try RPCResponse.decode(try #require(auth)).decodeResult(AuthResult.self)
            let answer = try await offload { try socket.readLine(timeout: 60) }
            let elapsed = ContinuousClock.now - sent
            let line = try #require(answer, "the connection was closed while the erase ran")
            #expect(try RPCResponse.decode(line).decodeResult(EraseResult.self).conversations == 20)
            #expect(elapsed > .milliseconds(2), "the erase was too quick to outlast the idle timeout")
            // Idle once answered: closed by the timeout.
            try await offload { try socket.waitForClose(timeout: 10) }
            let listed = try server.vault.list(tenant: "acme", query: ListQuery())
            #expect(listed.conversations.isEmpty)
        }
    }

    /// What ``talk(to:token:for:every:)`` saw.
    struct TalkRun: Sendable {
        /// Seconds from the first request until the server closed, or `nil` if it did not.
        var closedAfter: Double?
        /// The longest time, in seconds, from an answer to the client's next request.
        var longestSilence: Double
    }

    /// Authenticates, then sends `conversation.list` every `interval` seconds for `duration`
    /// seconds, reading each answer; blocking, for a thread of its own.
    static func talk(to path: String, token: String, for duration: Double, every interval: Double) throws -> TalkRun {
        let socket = try RawSocket(path: path)
        try socket.write(requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10])
        guard let auth = try socket.readLine() else { throw RawSocket.Failure(description: "closed before answering auth") }
        _ = try RPCResponse.decode(auth).decodeResult(AuthResult.self)
        let start = Date()
        var answered = start
        var run = TalkRun(closedAfter: nil, longestSilence: 0)
        var id = 1
        while Date().timeIntervalSince(start) < duration {
            run.longestSilence = max(run.longestSilence, Date().timeIntervalSince(answered))
            guard (try? socket.write(requestLine(id: id, "conversation.list", "{}") + [10])) != nil,
                  let line = try socket.readLine() else {
                run.closedAfter = Date().timeIntervalSince(start)
                return run
            }
            _ = try RPCResponse.decode(line).decodeResult(ListResult.self)
            answered = Date()
            id += 1
            Thread.sleep(forTimeInterval: interval)
        }
        return run
    }

    @Test("a client that half-closes after pipelining still gets every answer")
    func halfClose() async throws {
        try await withServer { server in
            let socket = try RawSocket(path: server.socketPath)
            try socket.write((1...5).flatMap { requestLine(id: $0, "system.info") + [10] })
            socket.shutdownWrite()
            let lines = try await offload { try socket.readLines(5) }
            #expect(try lines.map { try RPCResponse.decode($0).id } == (1...5).map { RPCID(Int64($0)) })
            try await offload { try socket.waitForClose(timeout: 5) }
        }
    }

    @Test("a half-close behind reads still gets every request served in order, the last line without its newline too")
    func halfCloseBehindBarriers() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            // Each read waits for the append before it, and the lines after a read wait for it:
            // the half-close arrives while lines are still waiting their turn.
            let append = #"{"conversation_id":"h","messages":[{"m":1}]}"#
            let read = #"{"conversation_id":"h"}"#
            try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10]
                + requestLine(id: 2, "conversation.append", append) + [10]
                + requestLine(id: 3, "conversation.read", read) + [10]
                + requestLine(id: 4, "conversation.append", append) + [10]
                + requestLine(id: 5, "conversation.read", read) + [10]
                + requestLine(id: 6, "system.info"))
            socket.shutdownWrite()
            let lines = try await offload { try socket.readLines(6) }
            #expect(try lines.map { try RPCResponse.decode($0).id } == (1...6).map { RPCID(Int64($0)) })
            #expect(try RPCResponse.decode(lines[2]).decodeResult(ReadResult.self).messages.map(\.seq) == [1])
            #expect(try RPCResponse.decode(lines[4]).decodeResult(ReadResult.self).messages.map(\.seq) == [1, 2])
            _ = try RPCResponse.decode(lines[5]).decodeResult(SystemInfo.self)
            try await offload { try socket.waitForClose(timeout: 10) }
        }
    }

    @Test("clients that pipeline hundreds of requests and leave without reading do not keep their slots")
    func abandonedPipelines() async throws {
        try await withServer(configure: { $0.limits.connections = 4 }) { server in
            let token = try await server.token(tenants: ["acme"])
            var payload = requestLine(id: 0, "auth", #"{"token":"\#(token)"}"#) + [10]
            for id in 1...2000 {
                payload += requestLine(id: id, "conversation.list", "{}") + [10]
            }
            let requests = payload
            for _ in 0..<8 {
                let socket = try RawSocket(path: server.socketPath)
                try? await offload { try socket.write(requests) }
                // Gone without reading a single answer (the RawSocket closes on release).
            }
            // Every abandoned connection ends, so its slot is free again.
            var served = 0
            for _ in 0..<200 where served < 4 {
                served = 0
                var probes: [TranscriptClient] = []
                for _ in 0..<4 {
                    guard let probe = try? await server.connect() else { break }
                    probes.append(probe)
                    if (try? await within(5, "system.info") { try await probe.systemInfo() }) != nil { served += 1 }
                }
                for probe in probes { try? await probe.close() }
                if served < 4 { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(served == 4, "abandoned connections still hold their slots")
        }
    }

    @Test("a client that half-closes and reads slowly still gets every long answer")
    func halfCloseLargeAnswers() async throws {
        try await withServer { server in
            let socket = try RawSocket(path: server.socketPath)
            let requests = LongAnswers.requests(1...100)
            let writer = Task { try await offload { try socket.write(requests) } }
            try await Task.sleep(for: .milliseconds(200))
            try await writer.value
            socket.shutdownWrite()
            try await Task.sleep(for: .milliseconds(200))
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 10) }
            #expect(lines.count == 100, "answers were lost when the server closed the connection")
            #expect(try lines.map { try RPCResponse.decode($0).id } == (1...lines.count).map(LongAnswers.id))
        }
    }

    @Test("a client that vanishes mid-request harms no one")
    func vanishingClient() async throws {
        try await withServer { server in
            let token = try await server.token(tenants: ["acme"])
            for _ in 0..<20 {
                let socket = try RawSocket(path: server.socketPath)
                try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10]
                    + requestLine(id: 2, "conversation.append", #"{"conversation_id":"v","messages":[{"a":1}]}"#) + [10]
                    + bytes(#"{"jsonrpc":"2.0","method":"conversa"#))
            }
            let client = try await server.client(token: token)
            _ = try await client.append(AppendParams(conversationID: "other", messages: [bytes("{}")]))
            #expect(try await client.readAll(conversation: "other").count == 1)
            try await client.close()
        }
    }
}
