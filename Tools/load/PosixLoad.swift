import NIOPosix
import TranscriptAPI
import TranscriptClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Load {
    /// `--client posix`: a thread per connection (a thread pool as large as `--connections`, so
    /// every connection blocks on its own thread), each a ``LineSocket`` that writes pre-encoded
    /// request lines and only checks each response line's head, like redis-benchmark's C client.
    static func runPosix(_ workloads: [Workload], options: Options, setupStart: ContinuousClock.Instant) async throws -> Report {
        if options.mode == .read {
            // The prefill goes through the typed client, whose connections close before the
            // measured ones open.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for workload in workloads {
                    group.addTask { try await open(workload, options: options).client.close() }
                }
                try await group.waitForAll()
            }
        }
        // A server gone mid-request is an error from send (EPIPE), not the end of the process.
        _ = signal(SIGPIPE, SIG_IGN)
        let threads = NIOThreadPool(numberOfThreads: workloads.count)
        threads.start()
        let sockets = try await withThrowingTaskGroup(of: LineSocket.self) { group in
            for _ in workloads {
                group.addTask { try await threads.runIfActive { try connect(options: options) } }
            }
            var sockets: [LineSocket] = []
            for try await socket in group { sockets.append(socket) }
            return sockets
        }
        let schedule = Schedule(setupStart: setupStart, options: options)
        let lanes = try await withThrowingTaskGroup(of: LaneResult.self) { group in
            // The connections are alike once authenticated: any one serves any workload.
            for (socket, workload) in zip(sockets, workloads) {
                group.addTask {
                    try await threads.runIfActive {
                        var socket = socket
                        defer { socket.disconnect() }
                        return try drive(&socket, workload, options: options, schedule: schedule)
                    }
                }
            }
            var results: [LaneResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        try await threads.shutdownGracefully()
        return schedule.report(lanes, options: options)
    }

    /// Connects and authenticates one connection.
    private static func connect(options: Options) throws(LoadError) -> LineSocket {
        var socket = try LineSocket(connectingTo: options.socket)
        let failure: String?
        do {
            try socket.sendLine(RPCRequest.encodeLine(
                id: RPCID(1), method: RPCMethod.auth.rawValue, params: AuthParams(token: options.token)))
            failure = try socket.receiveLine { line in
                carriesResult(line) ? nil : String(decoding: line.prefix(300), as: UTF8.self)
            }
        } catch {
            socket.disconnect()
            throw error
        }
        if let failure {
            socket.disconnect()
            throw LoadError("auth failed: \(failure)")
        }
        return socket
    }

    /// One connection's loop until the deadline: `--pipeline` requests written first, then the
    /// next one each time a response line arrives (they come back in request order), every
    /// request timed from its send to its response.
    private static func drive(
        _ socket: inout LineSocket, _ workload: Workload, options: Options, schedule: Schedule
    ) throws(LoadError) -> LaneResult {
        var result = LaneResult()
        result.samples.reserveCapacity(Int(options.seconds * 20_000 / Double(options.connections)) + 1024)
        var random = SplitMix64(seed: UInt64(workload.index * 7919 + 1))
        let appendLine = workload.appendLine(options: options)
        let fullPage = options.page * options.messageBytes
        // Send times of the requests in flight: request n's at n % pipeline.
        var sentAt = [ContinuousClock.Instant](repeating: schedule.deadline, count: options.pipeline)
        var sent = 0
        var answered = 0

        // Sends the next request, unless the deadline has passed.
        func sendNext() throws(LoadError) {
            let line = switch options.mode {
            case .append: appendLine
            case .read: workload.readLine(options: options, using: &random)
            }
            let now = ContinuousClock.now
            guard now < schedule.deadline else { return }
            try socket.sendLine(line)
            sentAt[sent % options.pipeline] = now
            sent += 1
        }

        for _ in 0..<options.pipeline { try sendNext() }
        while answered < sent {
            // The line's length, and a copy of it when it is an error.
            let (length, error) = try socket.receiveLine { line in
                (line.count, carriesResult(line) ? nil : Array(line))
            }
            let received = ContinuousClock.now
            let requestSent = sentAt[answered % options.pipeline]
            answered += 1
            if let error {
                countError(error, in: &result)
            } else {
                if requestSent >= schedule.measureFrom {
                    result.samples.append((received - requestSent).nanoseconds)
                    result.lastResponse = received
                }
                if options.mode == .read && length < fullPage { result.mismatches += 1 }
            }
            try sendNext()
        }
        return result
    }

    /// Counts an error response, keeps the first for the log, and waits out a rate limit.
    private static func countError(_ line: [UInt8], in result: inout LaneResult) {
        result.errors += 1
        var error: RPCError?
        if case .error(let decoded)? = (try? RPCResponse.decode(line))?.outcome { error = decoded }
        if result.firstError == nil {
            result.firstError = error.map { "\($0)" } ?? String(decoding: line.prefix(300), as: UTF8.self)
        }
        if let error, error.code == RPCError.Code.rateLimited {
            usleep(UInt32(clamping: (error.retryAfterMs ?? 10) * 1000))
        }
    }
}
