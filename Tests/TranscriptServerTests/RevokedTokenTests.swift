import Foundation
import Testing
import TranscriptAPI
import TranscriptClient
@testable import TranscriptServer
import TranscriptTestSupport
import TranscriptVault

/// A token revoked while connections hold grants from it: those connections are refused from
/// their next request on (not only at the next `auth`), and closed once their connect deadline
/// has passed; connections of other tokens never notice.
@Suite("Revoked tokens on live connections")
struct RevokedTokenTests {
    private static let append = #"{"conversation_id":"c","messages":[{"role":"user","content":"hi"}]}"#

    @Test("the next request after the revocation is -32001 'the token was revoked'; past its connect deadline the connection is then closed")
    func revokedConnectionIsRefusedThenClosed() async throws {
        try await withServer(configure: ConnectionLimitTests.shortAuthDeadline) { server in
            let doomed = try await server.vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
            let other = try await server.token(tenants: ["acme"], scopes: [.append, .read])
            let authenticated = try await ConnectionLimitTests.authenticatedInTime(
                server, token: doomed.token, deadline: .milliseconds(300), budget: .seconds(10))
            let (socket, connected) = try #require(authenticated, "could not authenticate within the deadline in five tries")
            let bystanding = try await ConnectionLimitTests.authenticatedInTime(
                server, token: other, deadline: .milliseconds(300), budget: .seconds(10))
            let (bystander, _) = try #require(bystanding, "could not authenticate within the deadline in five tries")

            try socket.write(requestLine(id: 2, "conversation.append", Self.append) + [10])
            _ = try resultObject(try #require(try await offload { try socket.readLine() }))
            try await server.vault.revokeToken(id: doomed.id)
            // Past the deadline after connecting, as any connection that has been in use a while.
            try await Task.sleep(until: connected + .milliseconds(600))

            try socket.write(requestLine(id: 3, "conversation.read", #"{"conversation_id":"c"}"#) + [10])
            // The bound detects a connection left open only.
            let lines = try await offload { try socket.readLinesUntilClose(timeout: 20) }
            #expect(lines.count == 1)
            let refusal = try errorAnswer(try #require(lines.first))
            #expect(refusal.id == RPCID(3))
            #expect(refusal.error.code == RPCError.Code.unauthenticated)
            #expect(refusal.error.message.contains("revoked"))

            // The other token's connection goes on, and sees the append made before.
            try bystander.write(requestLine(id: 2, "conversation.append", Self.append) + [10])
            let (_, appended) = try resultObject(try #require(try await offload { try bystander.readLine() }))
            #expect(appended["first_seq"]?.numberValue?.int64Value == 2)
        }
    }

    @Test("within its connect deadline, a connection refused for a revoked token may authenticate again with another")
    func reauthAfterRevocation() async throws {
        try await withServer { server in
            let doomed = try await server.vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
            let other = try await server.token(tenants: ["acme"], scopes: [.append, .read])
            let socket = try await server.authenticatedRawSocket(token: doomed.token)
            try await server.vault.revokeToken(id: doomed.id)
            try socket.write(requestLine(id: 2, "conversation.append", Self.append) + [10])
            let refusal = try errorAnswer(try #require(try await offload { try socket.readLine() }))
            #expect(refusal.error.code == RPCError.Code.unauthenticated)
            // Unauthenticated now: a request that needs a token is refused as before any auth.
            try socket.write(requestLine(id: 3, "conversation.read", #"{"conversation_id":"c"}"#) + [10])
            #expect(try errorAnswer(try #require(try await offload { try socket.readLine() })).error.code == RPCError.Code.unauthenticated)
            try socket.write(requestLine(id: 4, "auth", #"{"token":"\#(other)"}"#) + [10])
            _ = try RPCResponse.decode(try #require(try await offload { try socket.readLine() })).decodeResult(AuthResult.self)
            try socket.write(requestLine(id: 5, "conversation.append", Self.append) + [10])
            let (id, result) = try resultObject(try #require(try await offload { try socket.readLine() }))
            #expect(id == RPCID(5))
            // The refused append stored nothing: this one is the conversation's first.
            #expect(result["first_seq"]?.numberValue?.int64Value == 1)
        }
    }

    @Test("revoking one token leaves the connections of every other token alone, the same tenant's included")
    func othersUnaffected() async throws {
        try await withServer(tenants: ["acme", "globex"]) { server in
            let doomed = try await server.vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
            let tokens = [
                try await server.token(tenants: ["acme"], scopes: [.append, .read]),
                try await server.token(tenants: ["globex"], scopes: [.append, .read]),
                try await server.token(tenants: nil, scopes: [.append, .read]),
            ]
            var clients: [TranscriptClient] = []
            for token in tokens { clients.append(try await server.client(token: token)) }
            let victim = try await server.client(token: doomed.token)
            try await server.vault.revokeToken(id: doomed.id)
            for (index, client) in clients.enumerated() {
                let tenant = index == 1 ? "globex" : "acme"
                _ = try await client.append(AppendParams(tenant: index == 2 ? tenant : nil, conversationID: "c\(index)", messages: [sampleMessage("t", index)]))
            }
            #expect(await serverError { _ = try await victim.append(AppendParams(conversationID: "v", messages: [sampleMessage("v", 0)])) }?.code
                    == RPCError.Code.unauthenticated)
            for client in clients { try await client.close() }
            try? await victim.close()
        }
    }

    @Test("requests sent before a failed auth are answered before a connection past its deadline is closed")
    func runningRequestsAnsweredBeforeClose() async throws {
        try await withServer(configure: ConnectionLimitTests.shortAuthDeadline) { server in
            let token = try await server.token(tenants: ["acme"], scopes: [.append, .read])
            let socket = try await ConnectionLimitTests.authenticatedPastDeadline(server, token: token)
            // Appends, then a failing auth, in one write: the appends are still running (on the
            // store's writer) when the auth fails and the deadline applies again.
            var lines: [UInt8] = []
            for id in 2...9 { lines += requestLine(id: id, "conversation.append", Self.append) + [10] }
            lines += requestLine(id: 10, "auth", #"{"token":"tvt_nobody_secret"}"#) + [10]
            try socket.write(lines)
            let answers = try await offload { try socket.readLinesUntilClose(timeout: 20) }
            #expect(answers.count == 9)
            for (offset, line) in answers.prefix(8).enumerated() {
                let (id, _) = try resultObject(line)
                #expect(id == RPCID(Int64(offset + 2)))
            }
            if answers.count == 9 {
                #expect(try errorAnswer(answers[8]).error.code == RPCError.Code.unauthenticated)
            }
        }
    }
}
