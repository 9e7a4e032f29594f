internal import NIOCore
import TranscriptAPI
import TranscriptVault
import Synchronization

/// Serves one client connection: reads lines, starts each request at once (so that pipelined
/// appends share group commits), and writes the responses strictly in request order.
struct ClientConnection {
    let channel: NIOAsyncChannel<Frame, ByteBuffer>
    let entry: ConnectionRegistry.Entry
    let dispatcher: Dispatcher
    /// The most requests a connection may have in flight before reading pauses.
    let maxInFlight = 256

    func run() async throws {
        try await channel.executeThenClose { inbound, outbound in
            let (responses, responseQueue) = AsyncStream.makeStream(of: PendingResponse.self)
            let (credits, creditQueue) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // However the writer ends (a write failed: the peer is gone, or the
                    // connection was closed), the reader must not wait for credits any more.
                    defer { creditQueue.finish() }
                    for await pending in responses {
                        if let bytes = await pending.value {
                            try await outbound.write(ByteBuffer(bytes: bytes))
                        }
                        entry.inFlight.subtract(1, ordering: .sequentiallyConsistent)
                        creditQueue.yield()
                        entry.closeIfIdle()
                    }
                }
                var creditIterator = credits.makeAsyncIterator()
                var outstanding = 0
                var grant: TokenGrant?
                var previous: PendingResponse?
                reading: for try await frame in inbound {
                    entry.inFlight.add(1, ordering: .sequentiallyConsistent)
                    outstanding += 1
                    switch frame {
                    case .tooLong:
                        let error = RPCError.tooLarge("the request line exceeds \(dispatcher.limits.lineBytes) bytes")
                        responseQueue.yield(.ready(RPCResponse.failureLine(id: .null, error: error)))
                        break reading
                    case .line(let buffer):
                        let pending = respond(to: Array(buffer.readableBytesView), grant: &grant, previous: previous)
                        // Only a running request can still be writing: a read waits for the
                        // latest one, and so for every earlier append (they commit in order),
                        // even when answers already known (system.info, errors) came between.
                        if case .running = pending { previous = pending }
                        responseQueue.yield(pending)
                    }
                    while outstanding > maxInFlight {
                        guard await creditIterator.next() != nil else { break reading }
                        outstanding -= 1
                    }
                }
                responseQueue.finish()
                try await group.waitForAll()
            }
            // `executeThenClose` closes at once, dropping answers not yet handed to the kernel
            // (a client that half-closed and reads slowly): wait until they have gone out.
            try? await channel.channel.writeAndFlush(ByteBuffer())
        }
    }

    private func respond(to line: [UInt8], grant: inout TokenGrant?, previous: PendingResponse?) -> PendingResponse {
        let request: RPCRequest
        do throws(RPCRequest.Rejection) {
            request = try RPCRequest.decode(line, maxDepth: dispatcher.limits.jsonDepth)
        } catch {
            return .ready(error.responseLine)
        }
        if entry.draining.load(ordering: .acquiring) {
            let line = RPCResponse.failureLine(id: request.responseID, error: .unavailable("the server is shutting down"))
            return .ready(request.isNotification ? nil : line)
        }
        if request.method == RPCMethod.auth.rawValue {
            // Handled in order, before the next line is read, so that later requests see it.
            let (line, newGrant) = dispatcher.authenticate(request)
            grant = newGrant
            if newGrant != nil {
                channel.channel.pipeline.fireUserInboundEventTriggered(ConnectionAuthenticated())
            }
            return .ready(request.isNotification ? nil : line)
        }
        let pending = dispatcher.start(request, grant: grant, after: previous)
        guard request.isNotification else { return pending }
        return .running(Task {
            _ = await pending.value
            return nil
        })
    }
}
