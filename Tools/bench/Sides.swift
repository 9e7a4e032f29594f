import Foundation
import Synchronization
import TranscriptCrypto
import TranscriptStorage
import TranscriptVault

/// Which implementation a measurement runs.
enum Side: String, CaseIterable, Sendable {
    case engine
    case raw
}

/// What a measurement does.
enum Workload: String, Sendable {
    /// 1 KiB appends, one message per call, each caller waiting for its durable commit.
    case append
    /// Pages of messages at random positions of one prefilled conversation.
    case read
}

/// What one side measured in one child process.
struct SideResult: Sendable {
    var side: Side
    var workload: Workload
    var concurrency: Int
    /// Operations completed in the measured window (appends, or pages read).
    var operations: Int
    var seconds: Double
    /// LMDB commits in the measured window (-1 when unknown).
    var commits: Int64
    var cpuUser: Double
    var cpuSystem: Double
    var voluntarySwitches: Int
    var involuntarySwitches: Int
    /// Peak resident set of the child process (KiB), read at its end.
    var peakRSSKiB: Int
    /// Resident set at the end of the measurement (KiB).
    var endRSSKiB: Int
    /// Seconds spent preparing (initialise, prefill) before the warm-up.
    var setupSeconds: Double
    /// Anonymous (heap) resident memory at the end of the measurement (KiB).
    var anonRSSKiB: Int = -1
    /// Latency of one operation (an append until durable, or one page), in microseconds.
    var p50Micros: Double = 0
    var p99Micros: Double = 0
    /// Which run of its configuration this was (set by the parent, for pairing).
    var run = 0
    /// CPU seconds of the busiest thread in the window: for appends, the writer thread, whose
    /// work is serial (busy share near 100 % means the writer, not the disk, is the limit).
    var busiestThreadSeconds: Double = 0

    var rate: Double { seconds > 0 ? Double(operations) / seconds : 0 }
}

/// The state of the process at the start or end of a measured window.
struct Snapshot {
    let time: ContinuousClock.Instant
    let cpu: (user: Double, system: Double)
    let switches: (voluntary: Int, involuntary: Int)
    let txnid: Int64
    let threads: [Int: Double]

    init(store: String) {
        txnid = ProcessStats.lmdbTransactionID(store: store)
        threads = ProcessStats.threadCPUSeconds()
        cpu = ProcessStats.cpuSeconds()
        switches = ProcessStats.contextSwitches()
        time = .now
    }

    static func result(_ side: Side, _ workload: Workload, concurrency: Int, loop: LoopResult, setup: Double,
                       from start: Snapshot, to end: Snapshot) -> SideResult {
        let elapsed = end.time - start.time
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let operations = loop.counts.reduce(0, +)
        var result = SideResult(
            side: side, workload: workload, concurrency: concurrency, operations: operations, seconds: seconds,
            commits: start.txnid >= 0 && end.txnid >= 0 ? end.txnid - start.txnid : -1,
            cpuUser: end.cpu.user - start.cpu.user, cpuSystem: end.cpu.system - start.cpu.system,
            voluntarySwitches: end.switches.voluntary - start.switches.voluntary,
            involuntarySwitches: end.switches.involuntary - start.switches.involuntary,
            peakRSSKiB: ProcessStats.statusKiB("VmHWM"), endRSSKiB: ProcessStats.statusKiB("VmRSS"),
            setupSeconds: setup)
        result.anonRSSKiB = ProcessStats.statusKiB("RssAnon")
        result.busiestThreadSeconds = end.threads.map { tid, cpu in cpu - (start.threads[tid] ?? 0) }.max() ?? 0
        let sorted = loop.latencies.sorted()
        if !sorted.isEmpty {
            result.p50Micros = Double(sorted[sorted.count / 2]) / 1000
            result.p99Micros = Double(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]) / 1000
        }
        return result
    }
}

/// The parameters of one child measurement.
struct SideParameters: Sendable {
    var side: Side
    var workload: Workload
    var concurrency: Int
    var seconds: Double
    var warmup: Double
    var directory: String
    var prefill: Int
    var pageSize: Int
    /// Diagnostic only: commits without fsync on both sides, to expose CPU cost.
    var durable = true
    /// The LMDB initial map size on both sides; `nil` keeps each side's default (64 MiB).
    var initialMapMiB: Int?
}

/// What a loop of operations did: calls per task or thread, and each call's latency (ns).
struct LoopResult: Sendable {
    var counts: [Int]
    var latencies: [UInt64]
}

enum Measure {
    static let tenant = "bench"

    static func run(_ p: SideParameters) async throws -> SideResult {
        switch (p.side, p.workload) {
        case (.engine, .append): try await engineAppend(p)
        case (.raw, .append): try await rawAppend(p)
        case (.engine, .read): try await engineRead(p)
        case (.raw, .read): try rawRead(p)
        }
    }

    // MARK: appends

    /// `appenders` concurrent tasks, each calling `body(task, call)` until `seconds` have passed.
    static func appendLoop(_ appenders: Int, seconds: Double,
                           _ body: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> LoopResult {
        let deadline = ContinuousClock.now + .seconds(seconds)
        return try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for task in 0..<appenders {
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(1024)
                    var now = ContinuousClock.now
                    repeat {
                        let before = now
                        try await body(task, latencies.count)
                        now = ContinuousClock.now
                        latencies.append(nanoseconds(now - before))
                    } while now < deadline
                    return (task, latencies)
                }
            }
            var result = LoopResult(counts: Array(repeating: 0, count: appenders), latencies: [])
            for try await (task, latencies) in group {
                result.counts[task] = latencies.count
                result.latencies += latencies
            }
            return result
        }
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }

    static func engineAppend(_ p: SideParameters) async throws -> SideResult {
        let setupStart = ContinuousClock.now
        let directory = p.directory + "/engine"
        var configuration = Vault.Configuration(dataDirectory: directory)
        configuration.durable = p.durable
        if let mib = p.initialMapMiB { configuration.initialMapSize = mib << 20 }
        let vault = try Vault.initialize(configuration)
        _ = try await vault.createTenant(tenant)
        let requests = (0..<p.concurrency).map {
            AppendRequest(tenant: tenant, conversationID: "bench-conv-\($0)", messages: [Payload.message($0)])
        }
        let setup = seconds(since: setupStart)
        _ = try await appendLoop(p.concurrency, seconds: p.warmup) { task, _ in
            _ = try await vault.append(requests[task])
        }
        let start = Snapshot(store: vault.dataDirectory.store)
        let loop = try await appendLoop(p.concurrency, seconds: p.seconds) { task, _ in
            _ = try await vault.append(requests[task])
        }
        let end = Snapshot(store: vault.dataDirectory.store)
        vault.close()
        return Snapshot.result(.engine, .append, concurrency: p.concurrency, loop: loop, setup: setup, from: start, to: end)
    }

    static func rawAppend(_ p: SideParameters) async throws -> SideResult {
        let setupStart = ContinuousClock.now
        let path = p.directory + "/raw"
        let store = try RawStore(path: path, durable: p.durable, initialMapSize: p.initialMapMiB.map { $0 << 20 })
        let writer = RawWriter(store: store)
        let conversations = (0..<p.concurrency).map { _ in SecureRandom.bytes(16) }
        let templates = try (0..<p.concurrency).map {
            try Payload.ConversationTemplate(conversationID: "bench-conv-\($0)", dek: store.dek.key)
        }
        let messages = (0..<p.concurrency).map { Payload.message($0) }
        let setup = seconds(since: setupStart)
        let warm = try await appendLoop(p.concurrency, seconds: p.warmup) { task, call in
            try await writer.append(conversation: conversations[task], template: templates[task],
                                    seq: UInt64(call + 1), message: messages[task])
        }
        let start = Snapshot(store: path)
        let loop = try await appendLoop(p.concurrency, seconds: p.seconds) { task, call in
            try await writer.append(conversation: conversations[task], template: templates[task],
                                    seq: UInt64(warm.counts[task] + call + 1), message: messages[task])
        }
        let end = Snapshot(store: path)
        writer.close()
        return Snapshot.result(.raw, .append, concurrency: p.concurrency, loop: loop, setup: setup, from: start, to: end)
    }

    // MARK: reads

    /// `threads` threads, each calling `body(thread, rng)` until `seconds` have passed.
    static func threadLoop(_ threads: Int, seconds: Double,
                           _ body: @escaping @Sendable (Int, inout SplitMix64) throws -> Void) throws -> LoopResult {
        let results = Mutex(LoopResult(counts: Array(repeating: 0, count: threads), latencies: []))
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let deadline = ContinuousClock.now + .seconds(seconds)
        for index in 0..<threads {
            let thread = Thread {
                var rng = SplitMix64(seed: 0x7475_6C74 &+ UInt64(index) &* 7919 &+ UInt64(WallClock.milliseconds()))
                var latencies: [UInt64] = []
                latencies.reserveCapacity(4096)
                do {
                    var now = ContinuousClock.now
                    repeat {
                        let before = now
                        try body(index, &rng)
                        now = ContinuousClock.now
                        latencies.append(nanoseconds(now - before))
                    } while now < deadline
                } catch {
                    let text = "\(error)"
                    failure.withLock { $0 = text }
                }
                results.withLock {
                    $0.counts[index] = latencies.count
                    $0.latencies += latencies
                }
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<threads { done.wait() }
        if let message = failure.withLock({ $0 }) { throw BenchError("reader failed: \(message)") }
        return results.withLock { $0 }
    }

    static func engineRead(_ p: SideParameters) async throws -> SideResult {
        let setupStart = ContinuousClock.now
        var configuration = Vault.Configuration(dataDirectory: p.directory + "/engine")
        configuration.durable = p.durable
        if let mib = p.initialMapMiB { configuration.initialMapSize = mib << 20 }
        let vault = try Vault.initialize(configuration)
        _ = try await vault.createTenant(tenant)
        let conversation = "bench-read"
        let message = Payload.message(0)
        var written = 0
        while written < p.prefill {
            let count = min(1000, p.prefill - written)
            _ = try await vault.append(AppendRequest(tenant: tenant, conversationID: conversation,
                                                     messages: Array(repeating: message, count: count)))
            written += count
        }
        let setup = seconds(since: setupStart)
        return try measureReads(p, setup: setup, store: vault.dataDirectory.store, side: .engine) { rng in
            let after = UInt64.random(in: 0...UInt64(p.prefill - p.pageSize), using: &rng)
            let page = try vault.read(tenant: tenant, conversationID: conversation, afterSeq: after, limit: p.pageSize)
            guard page.messages.count == p.pageSize, page.messages[0].message.count == Payload.messageBytes else {
                throw BenchError("engine page has \(page.messages.count) messages")
            }
        }
    }

    static func rawRead(_ p: SideParameters) throws -> SideResult {
        let setupStart = ContinuousClock.now
        let path = p.directory + "/raw"
        let store = try RawStore(path: path, durable: p.durable, initialMapSize: p.initialMapMiB.map { $0 << 20 })
        let conversation = SecureRandom.bytes(16)
        let template = try Payload.ConversationTemplate(conversationID: "bench-read", dek: store.dek.key)
        try store.prefill(conversation: conversation, template: template, message: Payload.message(0),
                          count: p.prefill, chunk: 1000)
        let setup = seconds(since: setupStart)
        return try measureReads(p, setup: setup, store: path, side: .raw) { rng in
            let after = UInt64.random(in: 0...UInt64(p.prefill - p.pageSize), using: &rng)
            let page = try store.readPage(conversation: conversation, afterSeq: after, limit: p.pageSize)
            guard page.count == p.pageSize, page[0].message.count == Payload.messageBytes else {
                throw BenchError("raw page has \(page.count) messages")
            }
        }
    }

    static func measureReads(_ p: SideParameters, setup: Double, store: String, side: Side,
                             _ body: @escaping @Sendable (inout SplitMix64) throws -> Void) throws -> SideResult {
        guard p.prefill > p.pageSize else { throw BenchError("--prefill must exceed --page") }
        _ = try threadLoop(p.concurrency, seconds: p.warmup) { _, rng in try body(&rng) }
        let start = Snapshot(store: store)
        let loop = try threadLoop(p.concurrency, seconds: p.seconds) { _, rng in try body(&rng) }
        let end = Snapshot(store: store)
        return Snapshot.result(side, .read, concurrency: p.concurrency, loop: loop, setup: setup, from: start, to: end)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
