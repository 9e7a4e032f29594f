import Foundation
import Testing
import TranscriptAPI
import TranscriptVault
import TranscriptTestSupport

/// A graceful shutdown while an admin connection has pipelined requests the server has read
/// and not yet served: each of them is answered (a result, or `-32050`), none is dropped.
@Suite("Admin pipeline at shutdown")
struct AdminPipelineShutdownTests {
    @Test("admin requests read before a shutdown are each answered or refused with -32050, then the connection closes")
    func pipelinedAdminRequestsAtShutdown() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        // Enough records that each `verify` takes a moment: the shutdown begins while the
        // admin connection still has most of its requests queued.
        for conversation in 0..<20 {
            _ = try await server.vault.append(AppendRequest(
                tenant: "acme", conversationID: "c\(conversation)",
                messages: (0..<100).map { sampleMessage("c\(conversation)", $0) }))
        }
        let socket = try RawSocket(path: server.adminSocketPath)
        // 40 lines of 45 bytes: one write, taken by the server's first read (under 2 KiB) and
        // below the admin channel's pause (64 frames), so every one of them has been read.
        let count = 40
        let requests: [UInt8] = (1...count).flatMap { requestLine(id: $0, "verify") + [10] }
        try socket.write(requests)
        let first = try #require(try await offload { try socket.readLine(timeout: 30) })
        #expect(try RPCResponse.decode(first).id == RPCID(1))
        let stopping = Task { try await server.shutdown() }
        let rest = try await offload { try socket.readLinesUntilClose(timeout: 30) }
        try await stopping.value
        server.vault.close()
        let responses = try ([first] + rest).map { try RPCResponse.decode($0) }
        #expect(responses.count == count)
        #expect(responses.map(\.id) == (1...responses.count).map { RPCID(Int64($0)) })
        for response in responses {
            if case .error(let error) = response.outcome {
                #expect(error.code == RPCError.Code.unavailable)
            }
        }
    }
}
