import Foundation
import NIOCore
import Testing
import TranscriptAPI
@testable import TranscriptServer
import TranscriptTestSupport

/// A connection that closes while its long line waits for the decoder (``Dispatcher/lineDecoder``)
/// must let go of it: else a client that sends a long line and hangs up, again and again, has the
/// server hold (and later decode) one line per connection it ever opened, the connection limit
/// notwithstanding, and every live connection's long line waits behind them.
@Suite("A connection closed while its long line waits for the decoder lets go of it")
struct LongLineClosedConnectionTests {
    /// A weak reference to a connection's channel: it is freed once nothing holds the connection.
    final class WeakChannel: @unchecked Sendable {
        weak var channel: (any Channel)?
        init(_ channel: any Channel) { self.channel = channel }
    }

    /// Connects, authenticates, sends a long append and hangs up once the server has framed it
    /// (handed it to the held decoder); returns the server's channel for the connection, weakly.
    static func sendLongLineAndHangUp(_ server: TestServer, token: String, id: Int) async throws -> WeakChannel {
        let registry = server.server.registry
        let socket = try await server.authenticatedRawSocket(token: token)
        let channel = WeakChannel(try #require(registry.channels.first))
        try socket.write(LongLineDecodeTests.longAppend(id: id, conversation: "c\(id)") + [10])
        let framed = await LongLineDecodeTests.eventually { registry.requestsInFlight > 0 }
        #expect(framed, "the long line was not framed")
        return channel
    }

    @Test("connections that hang up with a long line waiting for the decoder are let go, beyond the connection limit")
    func hungUpConnectionsAreLetGo() async throws {
        try await withServer(configure: { configuration in
            configuration.threads = 1
            configuration.limits.connections = 1
        }) { server in
            let token = try await server.token(tenants: ["acme"])
            let registry = server.server.registry
            let decoder = server.server.dispatcher.lineDecoder
            decoder.suspend()
            var resumed = false
            defer { if !resumed { decoder.resume() } }
            var channels: [WeakChannel] = []
            for id in 1...3 {
                // The socket goes (and the connection closes) when the call returns.
                channels.append(try await Self.sendLongLineAndHangUp(server, token: token, id: id))
                let gone = await LongLineDecodeTests.eventually { registry.count == 0 }
                try #require(gone, "the connection was not closed")
            }
            let letGo = await LongLineDecodeTests.eventually { channels.allSatisfy { $0.channel == nil } }
            resumed = true
            decoder.resume()
            #expect(letGo, "connections closed with a long line waiting for the decoder are still held")

            // The decoder goes on: a live connection's long line is served.
            let socket = try await server.authenticatedRawSocket(token: token)
            try socket.write(LongLineDecodeTests.longAppend(id: 9, conversation: "live") + [10])
            let answer = try RPCResponse.decode(try #require(try await offload { try socket.readLine(timeout: 30) }))
            #expect(answer.id == RPCID(9))
            #expect(try answer.decodeResult(AppendResult.self).lastSeq == 300)
        }
    }
}
