import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
@testable import TranscriptServer
import TranscriptTestSupport
import TranscriptVault

/// How a connection whose token was revoked ends: after every answer it is owed, and whatever
/// it sends meanwhile.
@Suite("Revoked tokens: closing the connection", .timeLimit(.minutes(2)))
struct RevokedConnectionCloseTests {
    /// A connection past its connect deadline is closed once the refusal, and the answers to
    /// requests taken up before the revocation, have gone out: a close on the next turn would
    /// drop every answer the kernel has not taken yet.
    @Test("answers owed before a revoked token's refusal, and the refusal itself, are written before the connection is closed")
    func answersOwedBeforeRevocationAreNotDropped() async throws {
        try await withServer(configure: ConnectionLimitTests.shortAuthDeadline) { server in
            let doomed = try await server.vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
            let socket = try await ConnectionLimitTests.authenticatedPastDeadline(server, token: doomed.token)

            // About 2 MB of answers, taken up (and answered) while the token is valid; the
            // client does not read them yet, so most of them wait in the server's channel.
            let count = 100
            try await offload { try socket.write(LongAnswers.requests(1...count)) }
            try await Task.sleep(for: .milliseconds(300))
            try await server.vault.revokeToken(id: doomed.id)
            try socket.write(requestLine(id: 7, "conversation.read", #"{"conversation_id":"c"}"#) + [10])
            // Let the server handle the refusal, and start closing, before reading.
            try await Task.sleep(for: .milliseconds(500))

            let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
            #expect(lines.count == count + 1, "answers were dropped when the revoked connection was closed")
            let ids = try lines.prefix(count).map { try RPCResponse.decode($0).id }
            #expect(ids == (1...ids.count).map(LongAnswers.id))
            if lines.count == count + 1 {
                let refusal = try errorAnswer(lines[count])
                #expect(refusal.id == RPCID(7))
                #expect(refusal.error.code == RPCError.Code.unauthenticated)
            }
        }
    }

    /// `system.info` goes through the revocation check too: else a connection holding a revoked
    /// grant that sends only `system.info` would stay authenticated (idle timeout, not the
    /// connect deadline) forever, and a leaked token's holder keep every connection slot it
    /// opened after the token is revoked.
    @Test("a connection whose token was revoked is closed past its connect deadline even if it sends only system.info")
    func systemInfoKeepsRevokedConnectionOpen() async throws {
        try await withServer(configure: ConnectionLimitTests.shortAuthDeadline) { server in
            let doomed = try await server.vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
            let socket = try await ConnectionLimitTests.authenticatedPastDeadline(server, token: doomed.token)
            try await server.vault.revokeToken(id: doomed.id)

            // Ping with system.info for up to 5 s (the deadline before auth is 300 ms, long past;
            // the idle timeout is 30 s). The bound only detects a connection left open.
            let closed = try await offload { () -> Bool in
                let until = Date().addingTimeInterval(5)
                var id = 10
                while Date() < until {
                    if socket.isClosedByPeer() { return true }
                    guard (try? socket.write(requestLine(id: id, "system.info") + [10])) != nil,
                          (try? socket.readLine(timeout: 5)) != nil else { return true }
                    id += 1
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return false
            }
            #expect(closed, "a connection holding a revoked grant was kept open by system.info")
        }
    }
}
