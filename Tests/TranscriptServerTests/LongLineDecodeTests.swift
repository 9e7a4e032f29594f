import Foundation
import Glibc
import Synchronization
import Testing
import TranscriptAPI
import TranscriptClient
@testable import TranscriptServer
import TranscriptTestSupport

/// Request lines of ``Dispatcher/offLoopLineBytes`` or more are decoded beside the event loops,
/// so that a long (or hostile) line does not hold every other connection of its loop while it
/// is parsed; its connection still takes its requests in order.
///
/// The tests hold the server's decoder (a suspended queue) to see a long line waiting for its
/// decode while the rest goes on. One event loop, so that every connection shares it.
@Suite("Long request lines are decoded off the event loop")
struct LongLineDecodeTests {
    static func oneLoop(_ configuration: inout ServerConfiguration) {
        configuration.threads = 1
    }

    /// An append of `count` messages of about 1 KiB to `conversation`: a line longer than
    /// ``Dispatcher/offLoopLineBytes`` for 300.
    static func longAppend(id: Int, conversation: String, count: Int = 300, tenant: String? = nil) -> [UInt8] {
        let padding = String(repeating: "x", count: 1000)
        let messages = (0..<count).map { #"{"role":"user","i":\#($0),"content":"\#(padding)"}"# }.joined(separator: ",")
        let tenantMember = tenant.map { #""tenant":"\#($0)","# } ?? ""
        let line = requestLine(id: id, "conversation.append",
                               #"{\#(tenantMember)"conversation_id":"\#(conversation)","messages":[\#(messages)]}"#)
        return line
    }

    /// Whether `socket` has bytes to read within `seconds`.
    static func hasBytes(_ socket: RawSocket, within seconds: Double) -> Bool {
        var descriptor = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, Int32(seconds * 1000)) == 1
    }

    /// Runs `body` with the server's decoder held; lets it go afterwards, whatever happens.
    static func withDecoderHeld<R>(_ server: TestServer, _ body: () async throws -> R) async throws -> R {
        let decoder = server.server.dispatcher.lineDecoder
        decoder.suspend()
        var released = false
        defer { if !released { decoder.resume() } }
        let result = try await body()
        released = true
        decoder.resume()
        return result
    }

    /// Whether `condition` holds within 30 s, looked at every few milliseconds.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test("while a long line waits for its decode, another connection of the same event loop is served")
    func otherConnectionsGoOn() async throws {
        try await withServer(configure: Self.oneLoop) { server in
            let token = try await server.token(tenants: ["acme"])
            let long = Self.longAppend(id: 2, conversation: "long")
            try #require(long.count >= Dispatcher.offLoopLineBytes)
            let socket = try RawSocket(path: server.socketPath)
            try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10])
            _ = try resultObject(try #require(try await offload { try socket.readLine() }))

            try await Self.withDecoderHeld(server) {
                try socket.write(long + [10])
                let other = try await server.client(token: token)
                let appended = try await other.append(AppendParams(conversationID: "other", messages: [sampleMessage("o", 1)]))
                #expect(appended.firstSeq == 1)
                #expect(try await other.readAll(conversation: "other").count == 1)
                try await other.close()
                #expect(!Self.hasBytes(socket, within: 0.2), "the long line was answered while its decoder was held")
            }
            let answer = try resultObject(try #require(try await offload { try socket.readLine() }))
            #expect(answer.id == RPCID(2))
            let client = try await server.client(token: token)
            #expect(try await client.readAll(conversation: "long").count == 300)
            try await client.close()
        }
    }

    @Test("requests pipelined around a long line take effect and are answered in order")
    func pipelineStaysInOrder() async throws {
        try await withServer(configure: Self.oneLoop) { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            var pipeline = requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10]
            pipeline += requestLine(id: 2, "conversation.append", #"{"conversation_id":"c","messages":[{"n":1}]}"#) + [10]
            pipeline += Self.longAppend(id: 3, conversation: "c") + [10]
            pipeline += requestLine(id: 4, "conversation.read", #"{"conversation_id":"c","limit":1000}"#) + [10]
            pipeline += requestLine(id: 5, "conversation.append", #"{"conversation_id":"c","messages":[{"n":2}]}"#) + [10]
            pipeline += Self.longAppend(id: 6, conversation: "c") + [10]
            pipeline += requestLine(id: 7, "conversation.read", #"{"conversation_id":"c","after_seq":600,"limit":1000}"#) + [10]
            let writer = try await Self.withDecoderHeld(server) {
                // Written beside: the server stops reading at the held long line, and the socket
                // buffers need not hold the rest of the pipeline (a write here would never end).
                let written = pipeline
                let writer = Task { try await offload { try socket.write(written) } }
                // The first append goes through; everything from the long line on waits for it.
                let first = try resultObject(try #require(try await offload { try socket.readLines(2) }.last))
                #expect(first.id == RPCID(2))
                #expect(!Self.hasBytes(socket, within: 0.2), "a request behind the held long line was answered")
                return writer
            }
            try await writer.value
            let rest = try await offload { try socket.readLines(5) }
            let ids = try rest.map { try RPCResponse.decode($0).id }
            #expect(ids == [3, 4, 5, 6, 7].map { RPCID(Int64($0)) })
            let longFirst = try RPCResponse.decode(rest[0]).decodeResult(AppendResult.self)
            #expect(longFirst.firstSeq == 2 && longFirst.lastSeq == 301)
            let readAfterLong = try RPCResponse.decode(rest[1]).decodeResult(ReadResult.self)
            #expect(readAfterLong.messages.count == 301, "the read did not see exactly the writes before it")
            let short = try RPCResponse.decode(rest[2]).decodeResult(AppendResult.self)
            #expect(short.firstSeq == 302)
            let longSecond = try RPCResponse.decode(rest[3]).decodeResult(AppendResult.self)
            #expect(longSecond.firstSeq == 303 && longSecond.lastSeq == 602)
            let lastRead = try RPCResponse.decode(rest[4]).decodeResult(ReadResult.self)
            #expect(lastRead.messages.map(\.seq) == [601, 602])
        }
    }

    @Test("an auth pipelined behind a long line applies after it, not before")
    func authBehindALongLine() async throws {
        try await withServer(tenants: ["acme", "beta"], configure: Self.oneLoop) { server in
            let acme = try await server.token(tenants: ["acme"])
            let beta = try await server.token(tenants: ["beta"])
            let socket = try RawSocket(path: server.socketPath)
            var pipeline = requestLine(id: 1, "auth", #"{"token":"\#(acme)"}"#) + [10]
            pipeline += Self.longAppend(id: 2, conversation: "c", tenant: "acme") + [10]
            pipeline += requestLine(id: 3, "auth", #"{"token":"\#(beta)"}"#) + [10]
            pipeline += Self.longAppend(id: 4, conversation: "c", tenant: "acme") + [10]
            try socket.write(pipeline)
            let lines = try await offload { try socket.readLines(4) }
            #expect(try RPCResponse.decode(lines[1]).decodeResult(AppendResult.self).lastSeq == 300,
                    "the long append was not taken under the grant before it")
            _ = try resultObject(lines[2])
            let refused = try errorAnswer(lines[3])
            #expect(refused.id == RPCID(4))
            #expect(refused.error.code == RPCError.Code.forbidden, "the long append after the second auth was not held to it")
        }
    }

    @Test("a long line that is not JSON gets -32700 with id null, and the connection goes on")
    func longParseError() async throws {
        try await withServer(configure: Self.oneLoop) { server in
            let token = try await server.token(tenants: ["acme"])
            let socket = try RawSocket(path: server.socketPath)
            var broken = Self.longAppend(id: 2, conversation: "c")
            broken.removeLast()
            var pipeline = requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10]
            pipeline += broken + [10]
            pipeline += requestLine(id: 3, "conversation.append", #"{"conversation_id":"c","messages":[{"n":1}]}"#) + [10]
            try socket.write(pipeline)
            let lines = try await offload { try socket.readLines(3) }
            let error = try errorAnswer(lines[1])
            #expect(error.id == .null && error.error.code == RPCError.Code.parseError)
            #expect(try RPCResponse.decode(lines[2]).decodeResult(AppendResult.self).firstSeq == 1)
        }
    }

    /// Set once, read from any task.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    @Test("the event loops stop only once the decoder is done with every line handed to it, a closed connection's too")
    func eventLoopsOutliveTheDecoder() async throws {
        let server = try await TestServer.start(configure: { configuration in
            Self.oneLoop(&configuration)
            configuration.shutdownGrace = .milliseconds(200)
        })
        let token = try await server.token(tenants: ["acme"])
        let socket = try await server.authenticatedRawSocket(token: token)
        let decoder = server.server.dispatcher.lineDecoder
        let registry = server.server.registry
        let stopped = Flag()
        decoder.suspend()
        var shutdown: Task<Result<Void, any Error>, Never>?
        var framed = false
        var closed = false
        var stoppedWhileHeld = true
        do {
            try socket.write(Self.longAppend(id: 2, conversation: "c") + [10])
            framed = await Self.eventually { registry.requestsInFlight > 0 }
            shutdown = Task {
                let outcome = await server.shutdownOutcome(timeout: 60)
                stopped.set()
                return outcome
            }
            // The grace over, the server closes the connection that still owes the held line.
            closed = await Self.eventually { registry.count == 0 }
            try await Task.sleep(for: .milliseconds(300))
            stoppedWhileHeld = stopped.isSet
        } catch {
            Issue.record("\(error)")
        }
        decoder.resume()
        let outcome = await (shutdown ?? Task { await server.shutdownOutcome(timeout: 60) }).value
        await server.finishAndClose(within: 30)
        try? FileManager.default.removeItem(atPath: server.directory)
        try outcome.get()
        #expect(framed, "the long line was not owed an answer while its decoder was held")
        #expect(closed, "the connection was not closed after the grace")
        #expect(!stoppedWhileHeld, "the server stopped its event loops while a line was still in the decoder")
        #expect(stopped.isSet)
    }

    @Test("a graceful shutdown waits for a long line held in its decode and refuses it with -32050")
    func shutdownWithALongLineHeld() async throws {
        let server = try await TestServer.start(configure: Self.oneLoop)
        let token = try await server.token(tenants: ["acme"])
        let socket = try RawSocket(path: server.socketPath)
        try socket.write(requestLine(id: 1, "auth", #"{"token":"\#(token)"}"#) + [10])
        _ = try resultObject(try #require(try await offload { try socket.readLine() }))
        let decoder = server.server.dispatcher.lineDecoder
        let registry = server.server.registry
        decoder.suspend()
        var framed = false
        var draining = false
        var shutdown: Task<Result<Void, any Error>, Never>?
        let line: Result<[UInt8]?, any Error>
        do {
            try socket.write(Self.longAppend(id: 2, conversation: "c") + [10])
            // Once the long line is framed (and so sent to the held decoder), the connection owes it.
            framed = await Self.eventually { registry.requestsInFlight > 0 }
            shutdown = Task { await server.shutdownOutcome(timeout: 60) }
            draining = await Self.eventually { registry.isDraining }
            decoder.resume()
            line = .success(try await offload { try socket.readLine(timeout: 30) })
        } catch {
            if shutdown == nil { decoder.resume() }
            line = .failure(error)
        }
        let outcome = await (shutdown ?? Task { await server.shutdownOutcome(timeout: 60) }).value
        await server.finishAndClose(within: 30)
        try? FileManager.default.removeItem(atPath: server.directory)
        try outcome.get()
        #expect(framed, "the long line was not owed an answer while its decoder was held")
        #expect(draining)
        let answer = try errorAnswer(try #require(try line.get(), "the long line got no answer"))
        #expect(answer.id == RPCID(2))
        #expect(answer.error.code == RPCError.Code.unavailable)
    }
}
