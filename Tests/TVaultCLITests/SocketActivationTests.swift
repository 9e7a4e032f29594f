import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// `tvault serve` started the way systemd starts it: sockets passed as descriptors 3 and 4
/// (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`) and readiness reported on `NOTIFY_SOCKET`.
@Suite("Socket activation")
struct SocketActivationTests {
    /// A bound Unix socket of `type` at `path`, listening when it is a stream socket. A path
    /// `@name` binds `name` in the abstract namespace with its exact length, as systemd binds
    /// `ListenStream=@name`.
    static func bound(_ path: String, type: Int32) throws -> Int32 {
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw CLITestError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let abstract = path.hasPrefix("@")
        let bytes = abstract ? [0] + Array(path.utf8.dropFirst()) : Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = abstract ? MemoryLayout<sa_family_t>.size + bytes.count : MemoryLayout<sockaddr_un>.size
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard status == 0 else { throw CLITestError("bind \(path): \(String(cString: strerror(errno)))") }
        if type == Int32(SOCK_STREAM.rawValue) { guard listen(fd, 16) == 0 else { throw CLITestError("listen") } }
        return fd
    }

    /// Starts `tvault serve --data-dir data` as systemd would: `descriptors` passed from 3 on,
    /// `LISTEN_PID` its own pid (a shell that execs keeps it), `environment` added, standard
    /// output and error into the file `output`.
    static func serveActivated(
        data: String, descriptors: [Int32], environment: [String: String], logLevel: String, output: String
    ) throws -> ChildProcess {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"LISTEN_PID=$$ exec "$0" "$@""#, tvaultBinary, "serve", "--data-dir", data, "--log-level", logLevel]
        process.passedDescriptors = descriptors
        process.environment = childEnvironment(environment.merging(["LISTEN_FDS": "\(descriptors.count)"]) { given, _ in given })
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = file
        process.standardError = file
        try process.run()
        return process
    }

    /// The next datagram on `fd`, or `nil` after `seconds`.
    static func receive(_ fd: Int32, seconds: Int) -> String? {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    @Test("serves on the passed sockets, reports READY=1 and STOPPING=1, and leaves their files alone")
    func passedSockets() throws {
        let dir = shortTemporaryPath()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let clientPath = dir + "/passed-client.sock", adminPath = dir + "/passed-admin.sock"
            let notifyPath = dir + "/notify.sock"
            let client = try Self.bound(clientPath, type: Int32(SOCK_STREAM.rawValue))
            let admin = try Self.bound(adminPath, type: Int32(SOCK_STREAM.rawValue))
            let notify = try Self.bound(notifyPath, type: Int32(SOCK_DGRAM.rawValue))
            defer { close(client); close(admin); close(notify) }

            let outputPath = dir + "/serve.out"
            let data = dir + "/data"
            // Named in the order opposite to the descriptors: names, not positions, decide.
            let process = try Self.serveActivated(
                data: data, descriptors: [admin, client],
                environment: ["LISTEN_FDNAMES": "admin:tvault", "NOTIFY_SOCKET": notifyPath], logLevel: "warning", output: outputPath)
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

            let ready = Self.receive(notify, seconds: 60)
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            #expect(ready == "READY=1", "no readiness notification: \(text)")
            let token = try #require(text.split(separator: "\n").first { $0.contains("token:") }?
                .split(separator: " ").first { $0.hasPrefix("tvt_") }.map(String.init), "no token printed: \(text)")

            // The passed client socket serves the API; the server bound no socket of its own.
            let session = try LineSocket(path: clientPath)
            #expect(try session.auth(token: token)["result"] != nil)
            #expect(int(try session.append("activated", [#"{"n":1}"#]), "result.first_seq") == 1)
            #expect(!FileManager.default.fileExists(atPath: data + "/tvault.sock"))
            #expect(!FileManager.default.fileExists(atPath: data + "/admin.sock"))
            // The passed admin socket serves admin methods.
            let adminSession = try LineSocket(path: adminPath)
            let tenants = try adminSession.call(#"{"jsonrpc":"2.0","id":1,"method":"tenant.list","params":{}}"#)
            #expect(tenants["result"] != nil, "admin socket: \(tenants)")
            // …and a client token does not make the client socket an admin socket.
            let refused = try session.call(#"{"jsonrpc":"2.0","id":3,"method":"tenant.list","params":{}}"#)
            #expect(int(refused, "error.code") == -32601)

            process.terminate()
            #expect(Self.receive(notify, seconds: 30) == "STOPPING=1")
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
            // Files of sockets systemd owns stay where they are.
            #expect(FileManager.default.fileExists(atPath: clientPath))
            #expect(FileManager.default.fileExists(atPath: adminPath))
        }
    }
}
