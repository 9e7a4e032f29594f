import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// What `tvault serve` says it listens on under socket activation: the sockets systemd passed,
/// not the data directory's default paths.
@Suite("Socket activation: the sockets reported")
struct SocketActivationOutputTests {
    @Test("prints and logs the passed sockets' addresses", arguments: [false, true])
    func reportsPassedSockets(abstractClient: Bool) throws {
        let dir = shortTemporaryPath()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let abstractName = "tvc-test-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let clientAddress = abstractClient ? "@" + abstractName : dir + "/passed-client.sock"
        let adminAddress = dir + "/passed-admin.sock"
        let notifyPath = dir + "/notify.sock"
        let client = try SocketActivationTests.bound(clientAddress, type: Int32(SOCK_STREAM.rawValue))
        let admin = try SocketActivationTests.bound(adminAddress, type: Int32(SOCK_STREAM.rawValue))
        let notify = try SocketActivationTests.bound(notifyPath, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(client); close(admin); close(notify) }

        let outputPath = dir + "/serve.out"
        let data = dir + "/data"
        let process = try SocketActivationTests.serveActivated(
            data: data, descriptors: [client, admin], environment: ["NOTIFY_SOCKET": notifyPath], logLevel: "info", output: outputPath)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        let ready = SocketActivationTests.receive(notify, seconds: 60)
        process.terminate()
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(ready == "READY=1", "no readiness notification: \(text)")
        let listening = text.split(separator: "\n").filter { $0.hasPrefix("Listening on ") }
        #expect(listening == ["Listening on \(clientAddress)"], "\(text)")
        #expect(!text.contains(data + "/tvault.sock"), "the default path is not what is served: \(text)")
        #expect(!text.contains(data + "/admin.sock"), "the default path is not what is served: \(text)")
        let logged = text.split(separator: "\n").first { $0.hasSuffix(" listening") }.map(String.init) ?? ""
        #expect(logged.contains("socket=\(clientAddress)"), "log: \(text)")
        #expect(logged.contains("admin_socket=\(adminAddress)"), "log: \(text)")
    }
}
