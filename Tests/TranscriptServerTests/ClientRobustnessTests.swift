import Foundation
import Glibc
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing
import TranscriptAPI
@testable import TranscriptClient

/// The client against a scripted server: answers it cannot decode, answers out of place,
/// cancelled calls, a closed connection, and responses that come in awkward pieces.
@Suite("Client against a misbehaving server")
struct ClientRobustnessTests {
    /// Answers each request line with what `script` returns for it (nothing for `nil`).
    final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var pending: [UInt8] = []
        private let script: @Sendable (_ index: Int, _ id: String) -> [String]
        private var count = 0

        init(script: @escaping @Sendable (_ index: Int, _ id: String) -> [String]) { self.script = script }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                count += 1
                for answer in script(count, Self.id(of: line)) {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer + "\n")), promise: nil)
                }
            }
        }

        /// The request's id (the client writes it last).
        static func id(of line: String) -> String {
            guard let range = line.range(of: "\"id\":", options: .backwards) else { return "null" }
            return String(line[range.upperBound...].dropLast())
        }
    }

    static let info = #""result":{"version":"x","protocol":1,"methods":[]}"#

    static func withScriptedServer(
        _ script: @escaping @Sendable (_ index: Int, _ id: String) -> [String], _ body: (String) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tvault-client-\(UUID().uuidString.prefix(8)).sock").path
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ScriptHandler(script: script)) }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        defer { unlink(path) }
        do {
            try await body(path)
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    @Test("a result the client cannot decode is a malformed response, not a server error")
    func malformedResult() async throws {
        try await Self.withScriptedServer({ _, id in
            [#"{"jsonrpc":"2.0","id":\#(id),"result":{"conversation_id":"c","first_seq":"1","last_seq":1}}"#]
        }) { path in
            let client = try await TranscriptClient.connect(socketPath: path)
            await #expect { _ = try await client.append(AppendParams(conversationID: "c", messages: [Array(#"{"a":1}"#.utf8)])) } throws: { error in
                guard case ClientError.malformedResponse = error else { return false }
                return true
            }
            try await client.close()
        }
    }

    @Test("an answer carrying another request's id is refused, and the connection is closed")
    func answerOutOfPlace() async throws {
        try await Self.withScriptedServer({ _, _ in [#"{"jsonrpc":"2.0","id":424242,\#(Self.info)}"#] }) { path in
            let client = try await TranscriptClient.connect(socketPath: path)
            await #expect { _ = try await client.systemInfo() } throws: { error in
                guard case ClientError.malformedResponse(let why) = error else { return false }
                return why.contains("424242")
            }
            await #expect(throws: ClientError.connectionClosed) { _ = try await client.systemInfo() }
            try await client.close()
        }
    }

    @Test("a cancelled call ends at once; the answer that comes later is dropped and the next call gets its own")
    func cancelledCall() async throws {
        // The first request is answered only when the second arrives, and then both in order.
        try await Self.withScriptedServer({ index, id in
            index == 1 ? [] : [#"{"jsonrpc":"2.0","id":1,\#(Self.info)}"#, #"{"jsonrpc":"2.0","id":\#(id),\#(Self.info)}"#]
        }) { path in
            let client = try await TranscriptClient.connect(socketPath: path)
            let call = Task { try await client.systemInfo() }
            try await Task.sleep(for: .milliseconds(100))
            call.cancel()
            // The bound detects a call that ignores its cancellation only.
            let outcome = try await within(30, "the cancelled call to end") { await call.result }
            #expect(throws: CancellationError.self) { try outcome.get() }
            let info = try await client.systemInfo()
            #expect(info.version == "x")
            try await client.close()
        }
    }

    @Test("after the server closed the connection, close() succeeds and sending fails with connectionClosed")
    func closedByServer() async throws {
        try await Self.withScriptedServer({ _, id in [#"{"jsonrpc":"2.0","id":\#(id),\#(Self.info)}"#] }) { path in
            let client = try await TranscriptClient.connect(socketPath: path)
            _ = try await client.systemInfo()
            try await client.channel.close()
            try await client.close()
            await #expect(throws: ClientError.connectionClosed) { try await client.sendBytes(Array("{}\n".utf8)) }
            await #expect(throws: ClientError.connectionClosed) { _ = try await client.systemInfo() }
        }
    }

    @Test("responses in pieces that end mid-line: each line comes whole, and the handler keeps about one line")
    func linesInPieces() throws {
        let handler = ResponseHandler()
        let channel = EmbeddedChannel(handler: handler)
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: 99) + [10]
        let stream = Array([[UInt8]](repeating: line, count: 20_000).joined())
        var mostHeld = 0
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + 1037)
            try channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
            mostHeld = max(mostHeld, handler.bufferedCapacity)
            offset = end
        }
        #expect(handler.bufferedCapacity == 0)
        #expect(mostHeld <= 16 << 10, "the handler held \(mostHeld) bytes for lines of 100")

        // One long line in many pieces reaches its promise whole.
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        try channel.writeOutbound(OutboundRequest(line: ByteBuffer(string: "{}\n"), promise: promise))
        let long = [UInt8](repeating: UInt8(ascii: "b"), count: 1 << 20)
        for start in stride(from: 0, to: long.count, by: 4096) {
            try channel.writeInbound(ByteBuffer(bytes: long[start..<min(long.count, start + 4096)]))
        }
        try channel.writeInbound(ByteBuffer(bytes: [10]))
        #expect(try promise.futureResult.wait() == long)
        _ = try channel.finish()
    }
}
