import NIOPosix
import TranscriptAPI
import TranscriptClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Load {
    /// `--client posix` and `--client poll`: each connection a ``LineSocket`` that writes
    /// pre-encoded request lines and only checks each response line's head, like
    /// redis-benchmark's C client. With `posix`, a thread per connection (a thread pool as large
    /// as `--connections`, so every connection blocks on its own thread); with `poll`, one thread
    /// for them all, like redis-benchmark's single-threaded event loop.
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
        let threads = NIOThreadPool(numberOfThreads: options.client == .poll ? 1 : workloads.count)
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
        let lanes: [LaneResult]
        if options.client == .poll {
            lanes = try await threads.runIfActive {
                try drivePolling(sockets, Array(workloads), options: options, schedule: schedule)
            }
        } else {
            lanes = try await withThrowingTaskGroup(of: LaneResult.self) { group in
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

    /// One connection's loop until the deadline, on its own thread.
    private static func drive(
        _ socket: inout LineSocket, _ workload: Workload, options: Options, schedule: Schedule
    ) throws(LoadError) -> LaneResult {
        var lane = Lane(workload, options: options, schedule: schedule)
        for _ in 0..<options.pipeline { try lane.sendNext(on: socket) }
        while lane.waiting {
            let (length, error) = try socket.receiveLine { line in
                (line.count, carriesResult(line) ? nil : Array(line))
            }
            lane.received(length: length, error: error)
            try lane.sendNext(on: socket)
        }
        return lane.result
    }

    /// `--client poll`: every connection on one thread, which waits in `poll(2)` for whichever
    /// answers and sends that connection's next request, as redis-benchmark's event loop does.
    private static func drivePolling(
        _ sockets: [LineSocket], _ workloads: [Workload], options: Options, schedule: Schedule
    ) throws(LoadError) -> [LaneResult] {
        var sockets = sockets
        defer { for socket in sockets { socket.disconnect() } }
        var lanes = workloads.map { Lane($0, options: options, schedule: schedule) }
        var descriptors = sockets.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        for index in lanes.indices {
            for _ in 0..<options.pipeline { try lanes[index].sendNext(on: sockets[index]) }
        }
        while lanes.contains(where: \.waiting) {
            for index in descriptors.indices {
                // A connection whose last request is answered is left out of the wait.
                descriptors[index].fd = lanes[index].waiting ? sockets[index].descriptor : -1
                descriptors[index].revents = 0
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), 1000)
            if ready < 0 {
                if errno == EINTR { continue }
                throw LoadError("poll: \(String(cString: strerror(errno)))")
            }
            for index in descriptors.indices where descriptors[index].revents != 0 {
                try sockets[index].receive()
                while let (length, error) = sockets[index].bufferedLine({ line in
                    (line.count, carriesResult(line) ? nil : Array(line))
                }) {
                    lanes[index].received(length: length, error: error)
                    try lanes[index].sendNext(on: sockets[index])
                }
            }
        }
        return lanes.map(\.result)
    }

    /// One connection's requests in flight and what it measured: request n was sent at
    /// `sentAt[n % pipeline]`, and responses come back in request order.
    private struct Lane {
        let workload: Workload
        let options: Options
        let schedule: Schedule
        let appendLine: [UInt8]
        let fullPage: Int
        var random: SplitMix64
        var sentAt: [ContinuousClock.Instant]
        var sent = 0
        var answered = 0
        var result = LaneResult()

        init(_ workload: Workload, options: Options, schedule: Schedule) {
            self.workload = workload
            self.options = options
            self.schedule = schedule
            appendLine = workload.appendLine(options: options)
            fullPage = options.page * options.messageBytes
            random = SplitMix64(seed: UInt64(workload.index * 7919 + 1))
            sentAt = [ContinuousClock.Instant](repeating: schedule.deadline, count: options.pipeline)
            result.samples.reserveCapacity(Int(options.seconds * 20_000 / Double(options.connections)) + 1024)
        }

        /// Whether a request is still unanswered.
        var waiting: Bool { answered < sent }

        /// Sends the next request, unless the deadline has passed.
        mutating func sendNext(on socket: LineSocket) throws(LoadError) {
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

        /// Records the answer to the oldest request in flight: its length, and a copy of it
        /// when it is an error.
        mutating func received(length: Int, error: [UInt8]?) {
            let now = ContinuousClock.now
            let requestSent = sentAt[answered % options.pipeline]
            answered += 1
            if let error {
                countError(error, in: &result)
            } else {
                if requestSent >= schedule.measureFrom {
                    result.samples.append((now - requestSent).nanoseconds)
                    result.lastResponse = now
                }
                if options.mode == .read && length < fullPage { result.mismatches += 1 }
            }
        }
    }

    /// Counts an error response, keeps the first for the log, and waits out a rate limit.
    fileprivate static func countError(_ line: [UInt8], in result: inout LaneResult) {
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
