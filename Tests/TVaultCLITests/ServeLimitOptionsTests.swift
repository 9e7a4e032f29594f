import Foundation
import Glibc
import Testing
import TranscriptTestSupport

/// `tvault serve`'s limit options: refused when out of range or contradictory, reported by
/// `auth` exactly as given, and enforced as reported.
@Suite("tvault serve limit options")
struct ServeLimitOptionsTests {
    @Test("an invalid limit is a usage error that names the option, and nothing is created", arguments: [
        (["--max-line-bytes", "0"], "--max-line-bytes"),
        (["--max-line-bytes", "4095"], "--max-line-bytes"),
        (["--max-line-bytes", "2147483648"], "--max-line-bytes"),
        (["--max-message-bytes", "0"], "--max-message-bytes"),
        (["--max-line-bytes", "8192", "--max-message-bytes", "8193"], "--max-message-bytes"),
        (["--max-message-bytes", "16777217"], "--max-message-bytes"),
        (["--max-messages-per-append", "0"], "--max-messages-per-append"),
        (["--max-json-depth", "3"], "--max-json-depth"),
        (["--max-json-depth", "1001"], "--max-json-depth"),
        (["--idle-timeout", "0"], "--idle-timeout"),
        (["--auth-timeout", "-1"], "--auth-timeout"),
        (["--idle-timeout", "5", "--auth-timeout", "6"], "--auth-timeout"),
        (["--max-connections", "0"], "--max-connections"),
        (["--max-connections", "many"], "--max-connections"),
        (["--rate-limit", "-1"], "--rate-limit"),
        (["--rate-burst", "0"], "--rate-burst"),
        (["--rate-limit", "0", "--rate-burst", "5"], "--rate-burst"),
    ])
    func invalidValues(_ arguments: [String], option: String) throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try tvault(["serve", "--data-dir", directory] + arguments)
        expectStatus(run, 64)
        #expect(run.stderr.contains(option), "the error must name \(option): \(run)")
        #expect(!FileManager.default.fileExists(atPath: directory), "a refused serve must create nothing")
    }

    @Test("serve --help names every limit with its default and unit")
    func help() throws {
        // Help text is wrapped to the terminal width: compare with whitespace runs as spaces.
        let help = try tvaultOK(["serve", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for text in ["--max-line-bytes <bytes>", "16 MiB", "--max-message-bytes <bytes>", "4 MiB",
                     "--max-messages-per-append <count>", "--max-json-depth <levels>", "--idle-timeout <seconds>",
                     "5 minutes", "--auth-timeout <seconds>", "--max-connections <count>", "(default: 1024)",
                     "--rate-limit <requests>", "--rate-burst <requests>", "2 × --rate-limit"] {
            #expect(help.contains(text), "serve --help lacks \(text)")
        }
    }

    @Test("auth reports the limits given, and the server enforces them")
    func reportedAndEnforced() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(directory: directory, arguments: [
            "--max-message-bytes", "1000", "--max-connections", "2", "--rate-limit", "5", "--rate-burst", "3",
            "--max-line-bytes", "65536", "--max-messages-per-append", "7", "--max-json-depth", "12",
            "--idle-timeout", "120", "--auth-timeout", "30",
        ])
        defer { server.stop() }
        let token = try Self.firstToken(server.output)

        let first = try PipelinedSocket(path: server.socketPath)
        let auth = try first.exchange([#"{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"\#(token)"}}"#])[0]
        let limits = try #require((auth["result"] as? [String: Any])?["limits"] as? [String: Any], "\(auth)")
        let expected: [String: Int] = [
            "line_bytes": 65536, "message_bytes": 1000, "messages_per_append": 7, "json_depth": 12,
            "idle_timeout_ms": 120_000, "unauthenticated_idle_timeout_ms": 30_000, "connections": 2,
            "requests_per_second": 5,
        ]
        #expect(Set(limits.keys) == Set(expected.keys))
        for (name, value) in expected {
            #expect((limits[name] as? NSNumber)?.intValue == value, "limits.\(name) is \(limits[name] ?? "missing")")
        }

        // Pipelined: a message of exactly the limit, one byte over it, then reads until the
        // token's burst of 3 is spent.
        var lines = [Self.appendLine(id: 1, messageBytes: 1000), Self.appendLine(id: 2, messageBytes: 1001)]
        for id in 3...100 {
            lines.append(#"{"jsonrpc":"2.0","id":\#(id),"method":"conversation.read","params":{"conversation_id":"c"}}"#)
        }
        let started = Date()
        let responses = try first.exchange(lines)
        let elapsed = Date().timeIntervalSince(started)
        #expect(int(responses[0], "result.first_seq") == 1, "a message of 1000 bytes must be stored: \(responses[0])")
        #expect(int(responses[1], "error.code") == -32013, "a message of 1001 bytes must be too large: \(responses[1])")
        #expect((responses[1]["error"] as? [String: Any]).flatMap { $0["data"] as? [String: Any] }?["field"] as? String == "messages")
        #expect(responses[2]["result"] != nil, "the third request is within the burst: \(responses[2])")
        let refused = responses.filter { int($0, "error.code") == -32029 }
        let accepted = responses.count - refused.count
        // A token bucket admits at most its burst plus what its rate refilled meanwhile;
        // with the default burst (10 for 5/s) or a fixed one, far more would pass.
        #expect(accepted >= 3)
        #expect(accepted <= 3 + Int((5 * elapsed).rounded(.up)), "\(accepted) requests passed in \(elapsed) s")
        let wait = try #require(refused.first.flatMap { int($0, "error.data.retry_after_ms") }, "no -32029 with retry_after_ms")
        #expect(wait > 0)

        // Two connections are the limit: a second is served, a third refused with -32050.
        let second = try PipelinedSocket(path: server.socketPath)
        #expect(try second.exchange([#"{"jsonrpc":"2.0","id":1,"method":"system.info"}"#])[0]["result"] != nil)
        let third = try PipelinedSocket(path: server.socketPath)
        let refusal = try #require(try third.readLine(), "the third connection got no answer")
        #expect(int(refusal, "error.code") == -32050, "\(refusal)")
        #expect(try third.readLine() == nil, "the refused connection must be closed")
        #expect(try first.exchange([#"{"jsonrpc":"2.0","id":101,"method":"system.info"}"#])[0]["result"] != nil)

        // Nesting of 12 levels parses (whatever system.info makes of its params); 13 does not.
        let deepest = try second.exchange([Self.nestedSystemInfo(depth: 12)])[0]
        #expect(int(deepest, "error.code") != -32700, "12 levels are within --max-json-depth: \(deepest)")
        #expect(int(try second.exchange([Self.nestedSystemInfo(depth: 13)])[0], "error.code") == -32700)
    }

    @Test("limits above the engine's defaults hold end to end: a 5 MiB message, 1001 messages in one append")
    func raisedLimits() throws {
        let directory = shortTemporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(directory: directory, arguments: [
            "--max-message-bytes", String(5 << 20), "--max-messages-per-append", "1001",
        ])
        defer { server.stop() }
        let token = try Self.firstToken(server.output)
        let socket = try PipelinedSocket(path: server.socketPath)
        _ = try socket.exchange([#"{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"\#(token)"}}"#])

        let big = try socket.exchange([Self.appendLine(id: 1, messageBytes: 5 << 20)])[0]
        #expect(int(big, "result.first_seq") == 1, "a 5 MiB message within --max-message-bytes must be stored: \(big)")
        let over = try socket.exchange([Self.appendLine(id: 2, messageBytes: (5 << 20) + 1)])[0]
        #expect(int(over, "error.code") == -32013)

        let many = Array(repeating: #"{"n":1}"#, count: 1001).joined(separator: ",")
        let batch = try socket.exchange([#"{"jsonrpc":"2.0","id":3,"method":"conversation.append","params":{"conversation_id":"many","messages":[\#(many)]}}"#])[0]
        #expect(int(batch, "result.last_seq") == 1001, "1001 messages within --max-messages-per-append must be stored: \(batch)")
        let tooMany = many + #",{"n":1}"#
        let refused = try socket.exchange([#"{"jsonrpc":"2.0","id":4,"method":"conversation.append","params":{"conversation_id":"many","messages":[\#(tooMany)]}}"#])[0]
        #expect(int(refused, "error.code") == -32013)
    }

    /// The token a first run of `tvault serve` prints.
    static func firstToken(_ output: String) throws -> String {
        try #require(output.split(separator: "\n").first { $0.contains("token:") }?
            .split(separator: " ").first { $0.hasPrefix("tvt_") }.map(String.init), "no token printed: \(output)")
    }

    /// An append to conversation `c` of one message object of exactly `messageBytes` bytes.
    static func appendLine(id: Int, messageBytes: Int) -> String {
        let frame = #"{"x":""}"#.utf8.count
        let message = #"{"x":""# + String(repeating: "a", count: messageBytes - frame) + #""}"#
        return #"{"jsonrpc":"2.0","id":\#(id),"method":"conversation.append","params":{"conversation_id":"c","messages":[\#(message)]}}"#
    }

    /// A `system.info` request whose `params` nests to a total depth of `depth` (the request
    /// object is level 1).
    static func nestedSystemInfo(depth: Int) -> String {
        let inner = String(repeating: #"{"a":"#, count: depth - 3) + "{}" + String(repeating: "}", count: depth - 3)
        return #"{"jsonrpc":"2.0","id":7,"method":"system.info","params":{"a":\#(inner)}}"#
    }
}

/// A blocking client socket that writes many request lines at once and reads their answers,
/// or reads an answer the server writes unasked.
final class PipelinedSocket {
    let fd: Int32
    private var pending: [UInt8] = []

    init(path: String) throws {
        fd = try connectUnixSocket(path: path)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `lines` in one write and returns one parsed answer per line.
    func exchange(_ lines: [String]) throws -> [[String: Any]] {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw CLITestError("send: \(String(cString: strerror(errno)))") }
            offset += written
        }
        return try lines.indices.map { index in
            guard let answer = try readLine() else { throw CLITestError("closed after \(index) of \(lines.count) answers") }
            return answer
        }
    }

    /// The next answer, or `nil` once the server has closed the connection.
    func readLine() throws -> [String: Any]? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw CLITestError("not a JSON object: \(String(decoding: line, as: UTF8.self))")
                }
                return object
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) { return nil }
            guard count > 0 else { throw CLITestError("recv: \(String(cString: strerror(errno)))") }
            pending += chunk[..<count]
        }
    }
}
