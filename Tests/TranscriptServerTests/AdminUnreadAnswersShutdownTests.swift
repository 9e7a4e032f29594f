import Foundation
import Glibc
import Testing
import TranscriptAPI
import TranscriptServer
import TranscriptVault
import TranscriptTestSupport

/// An admin peer that sends requests and reads none of its answers cannot hold a graceful
/// shutdown: like a client connection, it is closed once the shutdown grace is over.
@Suite("Admin peer that does not read, at shutdown")
struct AdminUnreadAnswersShutdownTests {
    @Test("an admin connection that reads none of its answers does not hold up a graceful shutdown")
    func unreadAdminAnswersDoNotHoldShutdown() async throws {
        let server = try await TestServer.start(configure: { $0.shutdownGrace = .seconds(2) })
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let socket = try RawSocket(path: server.adminSocketPath)
        // Far more answers than the socket buffers hold: the server's write of one of them
        // waits for a reader that never comes. The write of the requests blocks too, once the
        // server stops reading; it ends with an error when the server closes.
        let requests: [UInt8] = (1...20_000).flatMap { requestLine(id: $0, "tenant.list") + [10] }
        let writer = Task { try? await offload { try socket.write(requests) } }
        try await Task.sleep(for: .seconds(1))
        let outcome: Result<Void, any Error>
        do {
            // The grace is 2 s; 30 s tells a hang apart from a slow machine.
            try await server.shutdown(timeout: 30)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        #expect(throws: Never.self) { try outcome.get() }
        Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
        _ = await writer.value
        // Let the server finish in any case, so that the store can be closed.
        let task = server.task
        _ = try? await within(60, "the server to stop") { try await task.value }
        server.vault.close()
    }
}
