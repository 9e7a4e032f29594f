import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// What `tvault serve` says it listens on under socket activation: the sockets systemd passed,
/// not the data directory's default paths.
@Suite("Socket activation: the sockets reported")
struct SocketActivationOutputTests {
    /// A listening Unix stream socket in the abstract namespace, bound with the exact length of
    /// `name` (as systemd binds `ListenStream=@name`).
    static func boundAbstract(_ name: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLITestError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [0] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard status == 0, listen(fd, 16) == 0 else { throw CLITestError("bind @\(name): \(String(cString: strerror(errno)))") }
        return fd
    }

    @Test("prints and logs the passed sockets' addresses", arguments: [false, true])
    func reportsPassedSockets(abstractClient: Bool) throws {
        let dir = shortTemporaryPath()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let abstractName = "tvc-test-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let clientAddress = abstractClient ? "@" + abstractName : dir + "/passed-client.sock"
        let adminAddress = dir + "/passed-admin.sock"
        let notifyPath = dir + "/notify.sock"
        let client = abstractClient
            ? try Self.boundAbstract(abstractName)
            : try SocketActivationTests.bound(clientAddress, type: Int32(SOCK_STREAM.rawValue))
        let admin = try SocketActivationTests.bound(adminAddress, type: Int32(SOCK_STREAM.rawValue))
        let notify = try SocketActivationTests.bound(notifyPath, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(client); close(admin); close(notify) }

        let outputPath = dir + "/serve.out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let data = dir + "/data"
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"LISTEN_PID=$$ exec "$0" "$@""#, tvaultBinary, "serve", "--data-dir", data, "--log-level", "info"]
        process.passedDescriptors = [client, admin]
        process.environment = childEnvironment(["LISTEN_FDS": "2", "NOTIFY_SOCKET": notifyPath])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
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
