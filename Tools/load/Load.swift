import NIOCore
import TranscriptAPI
import TranscriptClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one connection works on: its conversation and the message it appends.
struct Workload: Sendable {
    let index: Int
    let conversationID: String
    /// The message appended in append mode (and by the read mode's prefill).
    let message: [UInt8]

    /// Append conversations are fresh each run (named with `runTag`); read conversations are
    /// kept across runs.
    init(index: Int, runTag: String, options: Options) {
        self.index = index
        message = Payload.message(bytes: options.messageBytes, seed: UInt64(index) &+ 1)
        switch options.mode {
        case .append: conversationID = "load-append-\(runTag)-\(index)"
        case .read: conversationID = "load-read-\(options.messageBytes)-\(index)"
        }
    }

    /// The request line (with its `\n`) appending `message` to this workload's conversation.
    func appendLine(options: Options) -> [UInt8] {
        RPCRequest.encodeLine(id: RPCID(1), method: RPCMethod.conversationAppend.rawValue, params: appendParams(options: options))
    }

    func appendParams(options: Options) -> AppendParams {
        AppendParams(tenant: options.tenant, conversationID: conversationID, messages: [message])
    }

    /// A read of a page at a random position of the prefilled conversation.
    func readParams(options: Options, using random: inout SplitMix64) -> ReadParams {
        let after = UInt64.random(in: 0...UInt64(options.prefill - options.page), using: &random)
        return ReadParams(tenant: options.tenant, conversationID: conversationID, afterSeq: after, limit: options.page)
    }

    /// The request line (with its `\n`) of `readParams`.
    func readLine(options: Options, using random: inout SplitMix64) -> [UInt8] {
        RPCRequest.encodeLine(id: RPCID(1), method: RPCMethod.conversationRead.rawValue, params: readParams(options: options, using: &random))
    }
}

/// One typed connection, authenticated and ready for its workload.
struct Session: Sendable {
    let client: TranscriptClient
    let workload: Workload
}

/// What one in-flight lane of a connection measured.
struct LaneResult: Sendable {
    var samples: [Int64] = []
    var errors = 0
    var mismatches = 0
    var lastResponse: ContinuousClock.Instant?
    var firstError: String?
}

/// The measured window, fixed when setup is done: an unmeasured warmup, then `--seconds`.
struct Schedule: Sendable {
    let setupSeconds: Double
    let measureFrom: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant

    init(setupStart: ContinuousClock.Instant, options: Options) {
        let start = ContinuousClock.now
        setupSeconds = (start - setupStart).seconds
        measureFrom = start + .nanoseconds(Int64(options.warmup * 1e9))
        deadline = measureFrom + .nanoseconds(Int64(options.seconds * 1e9))
    }

    /// Merges the lanes' measurements; logs the first error.
    func report(_ lanes: [LaneResult], options: Options) -> Report {
        var samples: [Int64] = []
        samples.reserveCapacity(lanes.reduce(0) { $0 + $1.samples.count })
        var last = measureFrom
        for lane in lanes {
            samples += lane.samples
            if let response = lane.lastResponse, response > last { last = response }
        }
        if let error = lanes.lazy.compactMap(\.firstError).first {
            log("tvault-load: first error: \(error)")
        }
        return Report(
            options: options, samples: samples,
            errors: lanes.reduce(0) { $0 + $1.errors }, mismatches: lanes.reduce(0) { $0 + $1.mismatches },
            window: (last - measureFrom).seconds, setupSeconds: setupSeconds)
    }
}

enum Load {
    static func run(_ options: Options) async throws -> Report {
        let setupStart = ContinuousClock.now
        // A per-run tag keeps append conversations fresh; read conversations are reused.
        let runTag = String(UInt64(getpid())) + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let workloads = (0..<options.connections).map { Workload(index: $0, runTag: runTag, options: options) }
        switch options.client {
        case .typed: return try await runTyped(workloads, options: options, setupStart: setupStart)
        case .posix, .poll: return try await runPosix(workloads, options: options, setupStart: setupStart)
        }
    }

    /// `--client typed`: a TranscriptClient per connection, a task per in-flight lane.
    private static func runTyped(_ workloads: [Workload], options: Options, setupStart: ContinuousClock.Instant) async throws -> Report {
        let sessions = try await withThrowingTaskGroup(of: Session.self) { group in
            for workload in workloads {
                group.addTask { try await open(workload, options: options) }
            }
            var sessions: [Session] = []
            for try await session in group { sessions.append(session) }
            return sessions
        }
        let schedule = Schedule(setupStart: setupStart, options: options)
        let lanes = try await withThrowingTaskGroup(of: LaneResult.self) { group in
            for session in sessions {
                for lane in 0..<options.pipeline {
                    group.addTask { try await drive(session, lane: lane, options: options, schedule: schedule) }
                }
            }
            var results: [LaneResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        for session in sessions { try? await session.client.close() }
        return schedule.report(lanes, options: options)
    }

    /// Connects, authenticates and (read mode) makes sure the conversation holds `prefill` messages.
    static func open(_ workload: Workload, options: Options) async throws -> Session {
        let client: TranscriptClient
        do {
            client = try await TranscriptClient.connect(socketPath: options.socket)
        } catch {
            throw LoadError("cannot connect to \(options.socket): \(error)")
        }
        do {
            try await client.auth(token: options.token)
        } catch {
            throw LoadError("auth failed: \(error)")
        }
        if options.mode == .read {
            try await prefill(client, workload: workload, options: options)
        }
        return Session(client: client, workload: workload)
    }

    private static func prefill(_ client: TranscriptClient, workload: Workload, options: Options) async throws {
        // Count what is there (a previous run may have filled it already).
        var existing = 0
        while existing < options.prefill {
            let page: ReadResult
            do {
                page = try await client.read(ReadParams(
                    tenant: options.tenant, conversationID: workload.conversationID, afterSeq: UInt64(existing),
                    limit: ReadParams.maxLimit))
            } catch ClientError.server(let error) where error.code == RPCError.Code.notFound {
                break
            }
            existing += page.messages.count
            if page.nextAfterSeq == nil { break }
        }
        while existing < options.prefill {
            let batch = min(100, options.prefill - existing)
            let result = try await client.append(AppendParams(
                tenant: options.tenant, conversationID: workload.conversationID,
                messages: Array(repeating: workload.message, count: batch)))
            existing = Int(result.lastSeq)
        }
    }

    /// One closed loop: a request, its response, the next request, until the deadline.
    private static func drive(_ session: Session, lane: Int, options: Options, schedule: Schedule) async throws -> LaneResult {
        var result = LaneResult()
        result.samples.reserveCapacity(Int(options.seconds * 20_000 / Double(options.connections * options.pipeline)) + 1024)
        let workload = session.workload
        var random = SplitMix64(seed: UInt64(workload.index * 7919 + lane + 1))
        let append = workload.appendParams(options: options)
        let appendLine = Array(workload.appendLine(options: options).dropLast())
        while true {
            let sent = ContinuousClock.now
            if sent >= schedule.deadline { break }
            do {
                switch (options.mode, options.decode) {
                case (.append, false):
                    try checkResult(await session.client.sendRaw(appendLine))
                case (.read, false):
                    let line = workload.readLine(options: options, using: &random)
                    let response = try await session.client.sendRaw(Array(line.dropLast()))
                    try checkResult(response)
                    if response.count < options.page * options.messageBytes { result.mismatches += 1 }
                case (.append, true):
                    let appended = try await session.client.append(append)
                    if appended.lastSeq != appended.firstSeq { result.mismatches += 1 }
                case (.read, true):
                    let page = try await session.client.read(workload.readParams(options: options, using: &random))
                    if page.messages.count != options.page { result.mismatches += 1 }
                }
            } catch ClientError.server(let error) {
                result.errors += 1
                if result.firstError == nil { result.firstError = "\(error)" }
                if error.code == RPCError.Code.rateLimited {
                    try await Task.sleep(for: .milliseconds(Int(error.retryAfterMs ?? 10)))
                }
                continue
            } catch {
                throw LoadError("connection \(workload.index): \(error)")
            }
            let received = ContinuousClock.now
            if sent >= schedule.measureFrom {
                result.samples.append((received - sent).nanoseconds)
                result.lastResponse = received
            }
        }
        return result
    }
}

/// With `--decode none`: a response line must carry a result (`{"jsonrpc":"2.0","id":1,"result":…`);
/// an error response is counted and reported like a typed call's.
private func checkResult(_ response: [UInt8]) throws(ClientError) {
    guard carriesResult(response) else {
        throw ClientError.server(RPCError.internal(String(decoding: response.prefix(300), as: UTF8.self)))
    }
}

/// Whether a response line carries a result: `"result":` in its first 64 bytes (an error line
/// has `"error":` there instead).
func carriesResult(_ response: some Collection<UInt8>) -> Bool {
    let head = response.prefix(64)
    let marker = Array(#""result":"#.utf8)
    return head.indices.contains { index in
        head[index...].starts(with: marker)
    }
}
