import Foundation
import Glibc
import Testing
@testable import TranscriptVault
import TranscriptTestSupport

/// Every append acknowledged before a SIGKILL survives it (DESIGN §3: a caller is answered only
/// after its batch is durable).
///
/// The test runs the real `tvault-crash` binary (Tools/crash). `swift test` builds every
/// product, so it sits next to the test bundle; when it does not (a filtered or partial build),
/// the test builds it with `swift build --product tvault-crash` into a scratch directory of
/// its own, because the running `swift test` may hold the lock of the one it was built in.
@Suite("Crash safety")
struct CrashTests {
    /// The path of a built `tvault-crash`, building it when no build is found.
    static func crashBinary() throws -> String {
        if let path = builtProduct("tvault-crash") { return path }
        let scratch = packageRoot.appendingPathComponent(".build-crash-harness").path
        let build = ChildProcess()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["swift", "build", "--package-path", packageRoot.path, "--scratch-path", scratch, "--product", "tvault-crash"]
        try build.run()
        build.waitUntilExit()
        try #require(build.terminationStatus == 0, "`swift build --product tvault-crash` failed; run `swift build` first")
        let built = scratch + "/debug/tvault-crash"
        try #require(FileManager.default.isExecutableFile(atPath: built))
        return built
    }

    /// The message the harness appends as appender `appender`'s `k`-th append (see Tools/crash/main.swift).
    static func harnessMessage(appender: Int, k: Int) -> [UInt8] {
        let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8((appender + k) % 26)))
        return bytes(#"{"a":\#(appender),"n":\#(k),"pad":"\#(String(repeating: letter, count: 160))"}"#)
    }

    /// FNV-1a 64-bit in 16 hexadecimal digits, as the harness prints it.
    static func digest(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    struct Ack: Equatable {
        var appender: Int
        var seq: UInt64
        var digest: String
    }

    /// What one run of the harness printed and how it ended.
    struct Run {
        var ready = false
        var acks: [Ack] = []
        var otherLines: [String] = []
        var killed = false
        var watchdogFired = false
        var reason: Process.TerminationReason = .exit
        var status: Int32 = 0
        var stderr = ""
    }

    /// Runs the harness on `directory` until it has acknowledged `threshold` appends, kills it
    /// with SIGKILL, and collects every line it wrote (lines after the kill signal included).
    static func runAndKill(binary: String, directory: String, appenders: Int, threshold: Int) throws -> Run {
        // The watchdog is only against a hang (a harness that never reaches the threshold).
        let child = try WatchedChild(binary: binary, arguments: [directory, String(appenders), "0"], killAfter: 300)
        let pid = child.process.processIdentifier

        var run = Run()
        var pending: [UInt8] = []
        let reader = child.stdout.fileHandleForReading
        while true {
            let data = reader.availableData
            if data.isEmpty { break }
            pending += data
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                let fields = line.split(separator: " ")
                if line == "ready" {
                    run.ready = true
                } else if fields.count == 4, fields[0] == "ack", let appender = Int(fields[1]), let seq = UInt64(fields[2]) {
                    run.acks.append(Ack(appender: appender, seq: seq, digest: String(fields[3])))
                } else {
                    run.otherLines.append(line)
                }
            }
            if run.acks.count >= threshold && !run.killed {
                kill(pid, SIGKILL)
                run.killed = true
            }
        }
        // A partial last line is a line cut by the kill: it acknowledges nothing.
        child.waitUntilExit()
        run.watchdogFired = child.watchdogFired
        run.reason = child.process.terminationReason
        run.status = child.process.terminationStatus
        run.stderr = String(decoding: child.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return run
    }

    /// ``runAndKill(binary:directory:appenders:threshold:)`` off the cooperative thread pool.
    static func runAndKillAsync(binary: String, directory: String, appenders: Int, threshold: Int) async throws -> Run {
        try await offload { try runAndKill(binary: binary, directory: directory, appenders: appenders, threshold: threshold) }
    }

    /// 200 acknowledged appends end before the redo log's first checkpoint or just after it;
    /// 3,000 cross several checkpoints and the log's growth, so the kill can land anywhere.
    @Test("appends acknowledged before SIGKILL are all readable with the right content, twice over",
          arguments: [200, 3000])
    func killNine(threshold: Int) async throws {
        let binary = try Self.crashBinary()
        try await withTemporaryDirectory { dir in
            let appenders = 8
            var runs: [Run] = []
            for _ in 0..<2 {
                let run = try await Self.runAndKillAsync(binary: binary, directory: dir, appenders: appenders, threshold: threshold)
                try #require(!run.watchdogFired, "the harness hung; stderr: \(run.stderr)")
                try #require(run.killed, "the harness ended before \(threshold) acks; stderr: \(run.stderr)")
                #expect(run.ready)
                #expect(run.reason == .uncaughtSignal && run.status == SIGKILL, "stderr: \(run.stderr)")
                #expect(run.otherLines.isEmpty, "unexpected output: \(run.otherLines.prefix(3))")
                #expect(run.acks.count >= threshold)
                runs.append(run)
            }

            // The directory lock and LMDB reader slots of the killed process are gone.
            try await withVault(Vault.Configuration(dataDirectory: dir)) { vault in
                for appender in 0..<appenders {
                    let stored = try readAll(vault, tenant: "crash", conversation: "conv-\(appender)")
                    // Sequence numbers are dense: nothing committed vanished from the middle.
                    #expect(stored.map(\.seq) == (0..<stored.count).map { UInt64($0 + 1) })
                    let bySeq = Dictionary(uniqueKeysWithValues: stored.map { ($0.seq, $0.message) })
                    var lastAcked: UInt64 = 0
                    for (runIndex, run) in runs.enumerated() {
                        let acks = run.acks.filter { $0.appender == appender }
                        if let first = acks.first {
                            #expect(first.seq > lastAcked, "run \(runIndex) reused acknowledged seq \(first.seq) of conv-\(appender)")
                        }
                        for (index, ack) in acks.enumerated() {
                            let expected = Self.harnessMessage(appender: appender, k: index + 1)
                            #expect(ack.digest == Self.digest(expected), "the harness acknowledged other bytes")
                            guard let message = bySeq[ack.seq] else {
                                Issue.record("acknowledged conv-\(appender) seq \(ack.seq) (run \(runIndex)) was lost")
                                continue
                            }
                            #expect(message == expected, "conv-\(appender) seq \(ack.seq) has other content")
                            lastAcked = ack.seq
                        }
                        // Within one run an appender's acks are consecutive.
                        if let first = acks.first {
                            #expect(acks.map(\.seq) == Array(first.seq..<(first.seq + UInt64(acks.count))))
                        }
                    }
                    // The first run started on an empty store: appender k's message has seq k.
                    for message in stored.prefix(runs[0].acks.filter { $0.appender == appender }.count) {
                        #expect(message.message == Self.harnessMessage(appender: appender, k: Int(message.seq)))
                    }
                }
                let total = runs.reduce(0) { $0 + $1.acks.count }
                let counts = try vault.list(tenant: "crash", query: ListQuery(limit: 1000)).conversations
                #expect(counts.count == appenders)
                #expect(counts.reduce(0) { $0 + Int($1.messageCount) } >= total)
            }
        }
    }
}
