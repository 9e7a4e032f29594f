import NIOCore
import TranscriptAPI
import TranscriptClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection, authenticated and ready for its workload.
struct Session: Sendable {
    let index: Int
    let client: TranscriptClient
    let conversationID: String
    /// The message appended in append mode.
    let message: [UInt8]
}

/// What one in-flight lane of a connection measured.
struct LaneResult: Sendable {
    var samples: [Int64] = []
    var errors = 0
    var mismatches = 0
    var lastResponse: ContinuousClock.Instant?
    var firstError: String?
}

enum Load {
    static func run(_ options: Options) async throws -> Report {
        let setupStart = ContinuousClock.now
        // A per-run tag keeps append conversations fresh; read conversations are reused.
        let runTag = String(UInt64(getpid())) + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let sessions = try await withThrowingTaskGroup(of: Session.self) { group in
            for index in 0..<options.connections {
                group.addTask { try await open(index: index, runTag: runTag, options: options) }
            }
            var sessions: [Session] = []
            for try await session in group { sessions.append(session) }
            return sessions
        }
        let setupSeconds = (ContinuousClock.now - setupStart).seconds

        let start = ContinuousClock.now
        let measureFrom = start + .nanoseconds(Int64(options.warmup * 1e9))
        let deadline = measureFrom + .nanoseconds(Int64(options.seconds * 1e9))
        let lanes = try await withThrowingTaskGroup(of: LaneResult.self) { group in
            for session in sessions {
                for lane in 0..<options.pipeline {
                    group.addTask {
                        try await drive(session, lane: lane, options: options, measureFrom: measureFrom, deadline: deadline)
                    }
                }
            }
            var results: [LaneResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        for session in sessions { try? await session.client.close() }

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

    /// Connects, authenticates and (read mode) makes sure the conversation holds `prefill` messages.
    private static func open(index: Int, runTag: String, options: Options) async throws -> Session {
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
        let message = Payload.message(bytes: options.messageBytes, seed: UInt64(index) &+ 1)
        switch options.mode {
        case .append:
            return Session(index: index, client: client, conversationID: "load-append-\(runTag)-\(index)", message: message)
        case .read:
            let conversationID = "load-read-\(options.messageBytes)-\(index)"
            try await prefill(client, conversationID: conversationID, options: options, message: message)
            return Session(index: index, client: client, conversationID: conversationID, message: message)
        }
    }

    private static func prefill(_ client: TranscriptClient, conversationID: String, options: Options, message: [UInt8]) async throws {
        // Count what is there (a previous run may have filled it already).
        var existing = 0
        while existing < options.prefill {
            let page: ReadResult
            do {
                page = try await client.read(ReadParams(
                    tenant: options.tenant, conversationID: conversationID, afterSeq: UInt64(existing), limit: ReadParams.maxLimit))
            } catch ClientError.server(let error) where error.code == RPCError.Code.notFound {
                break
            }
            existing += page.messages.count
            if page.nextAfterSeq == nil { break }
        }
        while existing < options.prefill {
            let batch = min(100, options.prefill - existing)
            let result = try await client.append(AppendParams(
                tenant: options.tenant, conversationID: conversationID,
                messages: Array(repeating: message, count: batch)))
            existing = Int(result.lastSeq)
        }
    }

    /// One closed loop: a request, its response, the next request, until the deadline.
    private static func drive(
        _ session: Session, lane: Int, options: Options,
        measureFrom: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) async throws -> LaneResult {
        var result = LaneResult()
        result.samples.reserveCapacity(Int(options.seconds * 20_000 / Double(options.connections * options.pipeline)) + 1024)
        var random = SplitMix64(seed: UInt64(session.index * 7919 + lane + 1))
        let append = AppendParams(tenant: options.tenant, conversationID: session.conversationID, messages: [session.message])
        let highestAfter = UInt64(options.prefill - options.page)
        let appendLine = Array(RPCRequest.encodeLine(
            id: RPCID(1), method: RPCMethod.conversationAppend.rawValue, params: append).dropLast())
        while true {
            let sent = ContinuousClock.now
            if sent >= deadline { break }
            do {
                switch (options.mode, options.decode) {
                case (.append, false):
                    try checkResult(await session.client.sendRaw(appendLine))
                case (.read, false):
                    let after = UInt64.random(in: 0...highestAfter, using: &random)
                    let line = RPCRequest.encodeLine(id: RPCID(1), method: RPCMethod.conversationRead.rawValue, params: ReadParams(
                        tenant: options.tenant, conversationID: session.conversationID, afterSeq: after, limit: options.page))
                    let response = try await session.client.sendRaw(Array(line.dropLast()))
                    try checkResult(response)
                    if response.count < options.page * options.messageBytes { result.mismatches += 1 }
                case (.append, true):
                    let appended = try await session.client.append(append)
                    if appended.lastSeq != appended.firstSeq { result.mismatches += 1 }
                case (.read, true):
                    let after = UInt64.random(in: 0...highestAfter, using: &random)
                    let page = try await session.client.read(ReadParams(
                        tenant: options.tenant, conversationID: session.conversationID, afterSeq: after, limit: options.page))
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
                throw LoadError("connection \(session.index): \(error)")
            }
            let received = ContinuousClock.now
            if sent >= measureFrom {
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
    let head = response.prefix(64)
    let marker = Array(#""result":"#.utf8)
    let found = head.indices.contains { index in
        head[index...].starts(with: marker)
    }
    guard found else {
        throw ClientError.server(RPCError.internal(String(decoding: response.prefix(300), as: UTF8.self)))
    }
}
