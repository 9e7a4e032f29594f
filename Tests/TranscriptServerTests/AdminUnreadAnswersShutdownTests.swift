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
        // The grace is 2 s; 30 s tells a hang apart from a slow machine.
        let outcome = await server.shutdownOutcome(timeout: 30)
        #expect(throws: Never.self) { try outcome.get() }
        Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
        _ = await writer.value
        await server.finishAndClose(within: 60)
    }
}
