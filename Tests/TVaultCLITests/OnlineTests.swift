import Foundation
import Synchronization
import Testing
import TranscriptTestSupport
@testable import TranscriptVault
#if canImport(Glibc)
import Glibc
#endif

/// The binary against a running `tvault serve`: commands go through admin.sock and answer as
/// they do offline; the server sees admin changes at once; backups are taken while it writes.
@Suite("tvault with a running server", .serialized)
struct OnlineTests {
    @Test("online and offline answers are the same")
    func sameAnswers() async throws {
        try await CommandTests.withFilledStore { directory in
            let commands = [["tenant", "list"], ["tenant", "show", "acme"], ["token", "list"], ["stats"], ["audit", "verify"],
                            ["audit", "tail", "-n", "5"], ["verify"]]
            var offline: [String: String] = [:]
            for command in commands {
                for format in ["json", "text"] {
                    offline["\(command) \(format)"] = try tvaultOK(command + ["--data-dir", directory, "--format", format]).stdout
                }
            }
            let offlineStatus = try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json()
            try await withServer(directory) { _ in
                for command in commands {
                    for format in ["json", "text"] {
                        let online = try tvaultOK(command + ["--data-dir", directory, "--format", format]).stdout
                        #expect(online == offline["\(command) \(format)"], "\(command.joined(separator: " ")) --format \(format) differs online")
                    }
                }
                var status = try tvaultOK(["status", "--data-dir", directory, "--format", "json"]).json()
                #expect(status["server_running"] as? Bool == true)
                status["server_running"] = false
                #expect(NSDictionary(dictionary: status) == NSDictionary(dictionary: offlineStatus))
                #expect(try tvaultOK(["status", "--data-dir", directory]).stdout.contains("Server:         running"))
            }
        }
    }

    @Test("compact refuses while a server owns the directory; verify goes through it")
    func compactRefusedOnline() async throws {
        try await CommandTests.withFilledStore { directory in
            try await withServer(directory) { _ in
                let refused = try tvault(["compact", "--data-dir", directory])
                expectStatus(refused, 1)
                #expect(refused.stderr.contains("stop it first"))
                #expect(!FileManager.default.fileExists(atPath: directory + "/store.compacting"))
                let verified = try tvaultOK(["verify", "--data-dir", directory, "--format", "json"]).json()
                #expect(int(verified, "records") == 16)
                #expect(int(verified, "failures") == 0)
            }
        }
    }

    @Test("a token revoked through the CLI is refused by the running server at once")
    func revokedTokenRefused() async throws {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            try await withServer(directory) { server in
                let issued = try tvaultOK(["token", "issue", "--tenant", "acme", "--scopes", "append,read", "--data-dir", directory, "--format", "json"]).json()
                let token = try #require(issued["token"] as? String)
                let id = try #require(issued["id"] as? String)
                let before = try LineSocket(path: server.socketPath)
                #expect(try before.auth(token: token)["result"] != nil, "a fresh token must authenticate")

                let revoked = try tvaultOK(["token", "revoke", id, "--data-dir", directory, "--format", "json"]).json()
                #expect(revoked["revoked"] as? Bool == true)
                let after = try LineSocket(path: server.socketPath)
                let refusal = try after.auth(token: token)
                #expect(refusal["result"] == nil)
                #expect(int(refusal, "error.code") == -32001)

                let list = try tvaultOK(["token", "list", "--data-dir", directory, "--format", "json"]).json()
                #expect((list["tokens"] as? [[String: Any]])?.first?["revoked"] as? Bool == true)
                // The revocation and the refusal are both in the log, and the chain holds.
                var actions: [String] = []
                for _ in 0..<100 {
                    let tail = try tvaultOK(["audit", "tail", "-n", "3", "--data-dir", directory, "--format", "json"]).json()
                    actions = (tail["records"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
                    if actions.last == "auth.refused" { break }
                    usleep(50_000)
                }
                #expect(actions.suffix(2) == ["token.revoke", "auth.refused"])
                #expect(try tvaultOK(["audit", "verify", "--data-dir", directory, "--format", "json"]).json()["intact"] as? Bool == true)
            }
        }
    }

    @Test("--unsafe-no-sync is left out of --help, warns at start, and still serves")
    func unsafeNoSync() async throws {
        #expect(!(try tvaultOK(["serve", "--help"]).stdout.contains("unsafe-no-sync")))
        #expect(try tvaultOK(["serve", "--help-hidden"]).stdout.contains("--unsafe-no-sync"))
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            let token = try #require(try tvaultOK(["token", "issue", "--tenant", "acme", "--scopes", "append,read",
                                                   "--data-dir", directory, "--format", "json"]).json()["token"] as? String)
            let server = try ServerProcess(directory: directory, arguments: ["--unsafe-no-sync"])
            defer { server.stop() }
            #expect(server.output.contains("--unsafe-no-sync: commits are not flushed to disk"))
            let socket = try LineSocket(path: server.socketPath)
            #expect(try socket.auth(token: token)["result"] != nil)
            #expect(int(try socket.append("c1", [#"{"text":"one"}"#, #"{"text":"two"}"#]), "result.last_seq") == 2)
        }
    }

    @Test("serve starts the idle poller at the idle scheduling class (unless a CPU quota applies); --no-idle-poll starts none")
    func idlePollFlag() async throws {
        #expect(try tvaultOK(["serve", "--help"]).stdout.contains("--idle-poll/--no-idle-poll"))
        /// The scheduling policies of the server's threads named `tvault-idlepoll`.
        func idlePollers(_ server: ServerProcess) throws -> [Int32] {
            let tasks = "/proc/\(server.process.processIdentifier)/task"
            return try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { tid in
                let comm = (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)) ?? ""
                guard comm.trimmingCharacters(in: .whitespacesAndNewlines) == "tvault-idlepoll" else { return nil }
                return sched_getscheduler(pid_t(tid) ?? 0)
            }
        }
        try await withStore { directory in
            do {
                let server = try ServerProcess(directory: directory)
                defer { server.stop() }
                // The poller is named and of its class (SCHED_IDLE is 5) before the store is
                // open, so before the server listens.
                #expect(try idlePollers(server) == (CPUQuota.limitsThisProcess() ? [] : [5]))
            }
            let server = try ServerProcess(directory: directory, arguments: ["--no-idle-poll"])
            defer { server.stop() }
            #expect(try idlePollers(server).isEmpty)
        }
    }

    @Test("a backup taken during concurrent appends restores and verifies")
    func backupDuringAppends() async throws {
        try await withStore { directory in
            try tvaultOK(["tenant", "create", "acme", "--data-dir", directory])
            let token = try #require(try tvaultOK(["token", "issue", "--tenant", "acme", "--scopes", "append,read",
                                                   "--data-dir", directory, "--format", "json"]).json()["token"] as? String)
            let destination = shortTemporaryPath()
            let restored = shortTemporaryPath()
            defer {
                try? FileManager.default.removeItem(atPath: destination)
                try? FileManager.default.removeItem(atPath: restored)
            }
            let conversations = (1...4).map { "conv-\($0)" }
            let (appendedBefore, appendedAfter) = try await withServer(directory) { server -> (Int, Int) in
                let socket = try LineSocket(path: server.socketPath)
                _ = try socket.auth(token: token)
                for conversation in conversations {
                    _ = try socket.append(conversation, [String(decoding: sampleMessage(conversation, 0), as: UTF8.self)])
                }
                let appender = Appender(socket: socket, conversations: conversations)
                appender.start()
                while appender.appended < 50 { usleep(5_000) }
                let before = appender.appended + conversations.count
                let backup = try tvault(["backup", destination, "--data-dir", directory, "--format", "json"])
                let after = appender.stop() + conversations.count
                try #require(backup.status == 0, "\(backup)")
                #expect(appender.failure == nil, "an append failed: \(appender.failure ?? "")")
                return (before, after)
            }
            try #require(appendedAfter > appendedBefore, "no append ran during the backup")

            // Restore: the backup's store, plus the keyring and unlock key kept apart from it.
            try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            try FileManager.default.copyItem(atPath: destination + "/store", toPath: restored + "/store")
            try FileManager.default.copyItem(atPath: directory + "/keyring", toPath: restored + "/keyring")
            try FileManager.default.copyItem(atPath: directory + "/unlock.key", toPath: restored + "/unlock.key")
            let verified = try tvaultOK(["verify", "--data-dir", restored, "--format", "json"]).json()
            #expect(int(verified, "failures") == 0)
            #expect(int(verified, "counts.conversation") == conversations.count)
            let messages = try #require(int(verified, "counts.message"))
            #expect(messages >= appendedBefore && messages <= appendedAfter, "\(appendedBefore) ≤ \(messages) ≤ \(appendedAfter)")
            let stats = try tvaultOK(["stats", "--data-dir", restored, "--format", "json"]).json()
            #expect(int(stats, "messages") == messages)
            let audit = try tvaultOK(["audit", "verify", "--data-dir", restored, "--format", "json"]).json()
            #expect(audit["intact"] as? Bool == true)
            let last = try tvaultOK(["audit", "tail", "-n", "1", "--data-dir", restored, "--format", "json"]).json()
            #expect((last["records"] as? [[String: Any]])?.first?["action"] as? String == "backup", "the backup holds its own record")
        }
    }
}

/// Appends one message at a time, round-robin over conversations, on a thread of its own,
/// until stopped.
final class Appender: @unchecked Sendable {
    // Invariant for the unchecked Sendable: `socket` is used only by the appending thread
    // between `start` and the end of `stop`; the counters are atomics or mutex-guarded.
    private let socket: LineSocket
    private let conversations: [String]
    private let count = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let failureText = Mutex<String?>(nil)

    init(socket: LineSocket, conversations: [String]) {
        self.socket = socket
        self.conversations = conversations
    }

    var appended: Int { count.load(ordering: .relaxed) }
    var failure: String? { failureText.withLock { $0 } }

    func start() {
        Thread { [self] in
            var index = 1
            while !stopping.load(ordering: .relaxed) {
                let conversation = conversations[index % conversations.count]
                do {
                    let response = try socket.append(conversation, [String(decoding: sampleMessage(conversation, index), as: UTF8.self)])
                    guard response["result"] != nil else {
                        failureText.withLock { $0 = "\(response)" }
                        break
                    }
                } catch {
                    failureText.withLock { $0 = "\(error)" }
                    break
                }
                count.add(1, ordering: .relaxed)
                index += 1
            }
            done.signal()
        }.start()
    }

    /// Stops appending and returns how many appends succeeded.
    func stop() -> Int {
        stopping.store(true, ordering: .relaxed)
        done.wait()
        return appended
    }
}
