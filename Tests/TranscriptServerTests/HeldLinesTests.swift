import Foundation
import Glibc
import ServiceLifecycle
import Testing
import TranscriptAPI
@testable import TranscriptServer
import TranscriptTestSupport
import TranscriptVault

/// A connection holds the lines it has read while `maxInFlight` answers are owed. When those
/// are all notifications, done at once and written nowhere, the held lines must still be framed:
/// no write completes to do it. Before, nothing did, so the request behind them was never
/// answered, the socket was not read again (its end framed them once at most), and a graceful
/// shutdown waited its whole grace for the connection.
@Suite("Lines held behind notifications answered at once")
struct HeldLinesTests {
    /// Kinds of `maxInFlight` notifications that are done, owing nothing, when they reach the head.
    enum Notifications: CaseIterable, Sendable, CustomTestStringConvertible {
        case systemInfo
        case unknownMethod
        case invalidParams
        /// An append first: its commit comes after the notifications behind it are done.
        case appendFirst

        var testDescription: String {
            switch self {
            case .systemInfo: "system.info"
            case .unknownMethod: "an unknown method"
            case .invalidParams: "system.info with params"
            case .appendFirst: "an append, then system.info"
            }
        }

        /// The lines, each ending in `\n`.
        var lines: [UInt8] {
            let count = ClientConnectionHandler.maxInFlight
            let info = requestLine(id: nil, "system.info") + [10]
            return switch self {
            case .systemInfo:
                Array(repeating: info, count: count).flatMap { $0 }
            case .unknownMethod:
                Array(repeating: requestLine(id: nil, "no.such.method") + [10], count: count).flatMap { $0 }
            case .invalidParams:
                Array(repeating: requestLine(id: nil, "system.info", #"{"x":1}"#) + [10], count: count).flatMap { $0 }
            case .appendFirst:
                requestLine(id: nil, "conversation.append", #"{"conversation_id":"held","messages":[{"m":1}]}"#) + [10]
                    + Array(repeating: info, count: count - 1).flatMap { $0 }
            }
        }
    }

    /// Sends a line of 1 MiB and reads its answer: the server's reads of the socket grow to their
    /// largest, so that the lines written next arrive in one read and are framed together.
    static func warm(_ socket: RawSocket) async throws {
        let long = bytes(#"{"jsonrpc":"2.0","method":"system.info","id":""# + String(repeating: "i", count: 1 << 20) + #""}"#) + [10]
        try await offload { try socket.write(long) }
        let answer = try await offload { try socket.readLine(timeout: 30) }
        _ = try RPCResponse.decode(try #require(answer)).decodeResult(SystemInfo.self)
    }

    /// An authenticated socket to `server`, warmed (see ``warm(_:)``).
    static func warmSocket(_ server: TestServer) async throws -> RawSocket {
        let socket = try await server.authenticatedRawSocket(token: try await server.token(tenants: ["acme"]))
        try await warm(socket)
        return socket
    }

    /// Waits until the server has read every byte written to `socket`: a connection that has
    /// read nothing owes nothing, and a graceful shutdown closes it at once, lines unread.
    static func waitUntilRead(_ socket: RawSocket) async throws {
        // SIOCOUTQ: on a Unix socket, the bytes sent that the peer has not read yet.
        let siocoutq: UInt = 0x5411
        let drained = try await eventually {
            var unread: Int32 = 0
            return ioctl(socket.fd, siocoutq, &unread) == 0 && unread == 0
        }
        try #require(drained, "the server did not read the lines")
    }

    /// Checks that `line` answers `system.info` request `id`.
    static func expectInfo(_ line: [UInt8]?, id: Int) throws {
        let response = try RPCResponse.decode(try #require(line, "request \(id) was not answered"))
        #expect(response.id == RPCID(Int64(id)))
        _ = try response.decodeResult(SystemInfo.self)
    }

    @Test("notifications answered at once, then a request in the same read: it is answered, and the connection goes on",
          arguments: Notifications.allCases)
    func requestBehindNotifications(_ notifications: Notifications) async throws {
        try await withServer { server in
            let socket = try await Self.warmSocket(server)
            try socket.write(notifications.lines + requestLine(id: 1, "system.info") + [10])
            // The bounds detect a hang only: the answers are due at once.
            try Self.expectInfo(try await offload { try socket.readLine(timeout: 30) }, id: 1)
            // The socket is read again.
            try socket.write(requestLine(id: 2, "system.info") + [10])
            try Self.expectInfo(try await offload { try socket.readLine(timeout: 30) }, id: 2)
        }
    }

    @Test("two runs of notifications answered at once and requests, then a half-close: every request is answered, then the connection closes",
          arguments: Notifications.allCases)
    func halfCloseBehindNotifications(_ notifications: Notifications) async throws {
        try await withServer { server in
            let socket = try await Self.warmSocket(server)
            // Two runs: the end of input frames the lines held behind the first once (NIO reads to
            // the end even while reading is paused), and the second run holds the request again.
            try socket.write(notifications.lines + notifications.lines + requestLine(id: 1, "system.info") + [10]
                + notifications.lines + requestLine(id: 2, "system.info") + [10])
            try await Self.waitUntilRead(socket)
            socket.shutdownWrite()
            // Throws if the connection is not closed (the bound detects a hang only).
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 30) }
            #expect(lines.count == 2)
            for (index, line) in lines.enumerated() { try Self.expectInfo(line, id: index + 1) }
        }
    }

    @Test("notifications answered at once and a request, then a graceful shutdown: the request is answered and the connection closes without waiting for the grace",
          arguments: Notifications.allCases)
    func shutdownBehindNotifications(_ notifications: Notifications) async throws {
        let server = try await TestServer.start { $0.shutdownGrace = .seconds(60) }
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let socket = try await Self.warmSocket(server)
        try socket.write(notifications.lines + requestLine(id: 1, "system.info") + [10])
        try await Self.waitUntilRead(socket)
        await server.group.triggerGracefulShutdown()
        let outcome: Result<[[UInt8]], any Error>
        do {
            // Until the close; the bounds detect a hang only, far inside the grace (after which
            // the connection would be closed whatever it owed).
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
            let task = server.task
            try await within(30, "the server to stop") { try await task.value }
            outcome = .success(lines)
        } catch {
            outcome = .failure(error)
        }
        #expect(throws: Never.self) { try outcome.get() }
        if let lines = try? outcome.get() {
            // Answered, or refused (-32050) had the shutdown begun before the request was framed.
            _ = GracefulShutdownTests.servedThenRefused(try lines.map { try RPCResponse.decode($0) }, ids: [RPCID(1)])
        }
        await server.finishAndClose(within: 120)
    }
}
