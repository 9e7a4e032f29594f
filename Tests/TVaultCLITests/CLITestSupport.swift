import Foundation
import Glibc
import Testing
import TranscriptStorage
@testable import TranscriptVault
import TranscriptTestSupport

/// The `tvault` binary built with the tests: next to the test bundle, else in the package's
/// default build folder.
let tvaultBinary: String = builtProduct("tvault") ?? packageRoot.appendingPathComponent(".build/debug/tvault").path

/// What one run of the binary did.
struct Run: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    /// The standard output parsed as one JSON object.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let data = Data(stdout.utf8)
        let object = try JSONSerialization.jsonObject(with: data)
        return try #require(object as? [String: Any], "not a JSON object: \(stdout)", sourceLocation: sourceLocation)
    }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs `tvault` with `arguments` and waits for it; output goes through files, so a large
/// output never blocks the child on a full pipe.
@discardableResult
func tvault(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 120) throws -> Run {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tvc-out-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: tvaultBinary)
    process.arguments = arguments
    process.environment = childEnvironment(extra)
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            process.terminate()
            throw CLITestError("tvault \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
        }
        usleep(10_000)
    }
    return Run(status: process.terminationStatus,
               stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
               stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// The tests' own environment without anything that would change how `tvault` unlocks or
/// where it looks.
func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["TVAULT_PASSPHRASE"] = nil
    environment["TVAULT_DATA_DIR"] = nil
    environment["TVAULT_ADMIN_SOCKET"] = nil
    for (key, value) in extra { environment[key] = value }
    return environment
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh, short directory name (`/tmp/tvc-<random>`, not created): socket paths must fit
/// in 107 bytes.
func shortTemporaryPath() -> String {
    "/tmp/tvc-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
}

/// A data directory initialised by `tvault init`, removed afterwards.
func withStore<R>(_ body: (String) async throws -> R) async throws -> R {
    let directory = shortTemporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let run = try tvault(["init", "--data-dir", directory])
    try #require(run.status == 0, "tvault init failed: \(run)")
    return try await body(directory)
}

/// Expects a run to have exited with `status`.
func expectStatus(_ run: Run, _ status: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status == status, "expected exit \(status), got \(run)", sourceLocation: sourceLocation)
}

/// Runs `tvault` and requires exit status 0, returning the run.
@discardableResult
func tvaultOK(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
    let run = try tvault(arguments)
    try #require(run.status == 0, "tvault \(arguments.joined(separator: " ")) failed: \(run)", sourceLocation: sourceLocation)
    return run
}

/// A small JSON message whose bytes identify `tag` and `index`.
func sampleMessage(_ tag: String, _ index: Int) -> [UInt8] {
    Array(#"{"role":"user","tag":"\#(tag)","i":\#(index),"content":"message \#(index) of \#(tag)"}"#.utf8)
}

/// Opens the store of `directory` in this process (no server may own it), runs `body`, and
/// releases it, so that the binary can open it next.
func withVault<R>(_ directory: String, _ body: (Vault) async throws -> R) async throws -> R {
    let vault = try Vault.open(Vault.Configuration(dataDirectory: directory))
    defer { vault.close() }
    return try await body(vault)
}

/// Appends `count` messages to each of `conversations` of `tenant`, through the engine.
func appendMessages(_ directory: String, tenant: String, conversations: [String], count: Int) async throws {
    try await withVault(directory) { vault in
        for conversation in conversations {
            _ = try await vault.append(AppendRequest(
                tenant: tenant, conversationID: conversation,
                messages: (1...count).map { sampleMessage(conversation, $0) }, subjectID: "subject-\(conversation)"))
        }
    }
}

extension Vault {
    /// The keyed hash of a conversation id, in hex, as `verify` reports positions.
    func conversationHex(tenant: String, conversation: String) throws -> String {
        let record = try #require(try environment.read { txn in try tenantRecord(tenant, in: txn) })
        return Hex.encode(try keys(for: record).hash(conversation, domain: "conversation"))
    }

    /// The key of a message in the `messages` database.
    func messageKey(tenant: String, conversation: String, seq: UInt64) throws -> [UInt8] {
        let record = try #require(try environment.read { txn in try tenantRecord(tenant, in: txn) })
        return Schema.messageKey(tenant: record.number, conversation: try keys(for: record).hash(conversation, domain: "conversation"), seq: seq)
    }
}

/// The file that `JOURNAL_STREAM` names for a ``ServerProcess``.
enum JournalStream {
    case none
    /// The server's own output file.
    case output
    case file(String)
}

/// `tvault serve` as a child process, started and stopped by the test.
final class ServerProcess {
    let process = ChildProcess()
    let directory: String
    private let outputFile: String

    /// Starts `tvault serve --data-dir directory` (plus `arguments`) and returns once it prints
    /// "Listening on" (or, with `--format json`, its `listening` event). `journal` is the file
    /// that `JOURNAL_STREAM` names (as systemd names the journal's stream), if any: the
    /// server's own output file passes for the journal when it is named.
    init(directory: String, arguments: [String] = [], journal: JournalStream = .none, timeout: Double = 60) throws {
        self.directory = directory
        outputFile = directory + ".serve-out"
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: tvaultBinary)
        process.arguments = ["serve", "--data-dir", directory, "--log-level", "warning"] + arguments
        var extra: [String: String] = [:]
        let named: String?
        switch journal {
        case .none: named = nil
        case .output: named = outputFile
        case .file(let path): named = path
        }
        if let named {
            var status = stat()
            guard stat(named, &status) == 0 else { throw CLITestError("stat \(named)") }
            extra["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
        }
        process.environment = childEnvironment(extra)
        process.standardInput = FileHandle.nullDevice
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
            if text.contains("Listening on") || text.contains(#""event":"listening""#) { break }
            guard process.isRunning else { throw CLITestError("tvault serve exited: \(text)") }
            guard Date() < deadline else {
                stop()
                throw CLITestError("tvault serve did not listen within \(timeout) s: \(text)")
            }
            usleep(20_000)
        }
    }

    /// Stops the server with SIGTERM (a graceful shutdown) and waits for it.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        while process.isRunning { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: outputFile)
    }

    var socketPath: String { directory + "/tvault.sock" }

    /// What the server has printed so far (standard output and error).
    var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }
}

/// Runs `body` with a server on `directory`, stopping it afterwards.
func withServer<R>(_ directory: String, _ body: (ServerProcess) async throws -> R) async throws -> R {
    let server = try ServerProcess(directory: directory)
    defer { server.stop() }
    return try await body(server)
}

/// A blocking line client for the client socket.
final class LineSocket {
    let fd: Int32
    private var pending: [UInt8] = []

    init(path: String) throws {
        do {
            fd = try connectUnixSocket(path: path)
        } catch {
            throw CLITestError("\(error)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends one request line and returns the response line parsed as a JSON object.
    func call(_ line: String) throws -> [String: Any] {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw CLITestError("send: \(String(cString: strerror(errno)))") }
            offset += written
        }
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let response = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let object = try JSONSerialization.jsonObject(with: Data(response)) as? [String: Any] else {
                    throw CLITestError("not a JSON object: \(String(decoding: response, as: UTF8.self))")
                }
                return object
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard count > 0 else { throw CLITestError("the server closed the connection") }
            pending += chunk[..<count]
        }
    }

    /// Authenticates with `token`; returns the response.
    func auth(token: String) throws -> [String: Any] {
        try call(#"{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"\#(token)"}}"#)
    }

    /// Appends `messages` (JSON object texts) to `conversation`; returns the response.
    func append(_ conversation: String, _ messages: [String]) throws -> [String: Any] {
        try call(#"{"jsonrpc":"2.0","id":2,"method":"conversation.append","params":{"conversation_id":"\#(conversation)","messages":[\#(messages.joined(separator: ","))]}}"#)
    }
}

/// The integer at `path` (keys separated by dots) in a parsed JSON object.
func int(_ object: [String: Any], _ path: String) -> Int? {
    var current: Any? = object
    for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
    return (current as? NSNumber)?.intValue
}
