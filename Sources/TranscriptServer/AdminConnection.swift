internal import NIOCore
import TranscriptAPI
import TranscriptVault
import Synchronization

/// Serves one admin connection, one request at a time, to the owning user only.
///
/// On shutdown (`entry` draining) it finishes the request in hand, answers later ones with
/// `-32050`, and closes once it owes nothing, as client connections do.
struct AdminConnection {
    let channel: NIOAsyncChannel<Frame, ByteBuffer>
    let entry: ConnectionRegistry.Entry
    let admin: AdminDispatcher
    let limits: APILimits

    func run() async throws {
        try await channel.executeThenClose { inbound, outbound in
            reading: for try await frame in inbound {
                guard case .line(let buffer) = frame else {
                    let error = RPCError.tooLarge("the request line exceeds \(limits.lineBytes) bytes")
                    try await outbound.write(ByteBuffer(bytes: RPCResponse.failureLine(id: .null, error: error)))
                    break reading
                }
                entry.inFlight.add(1, ordering: .sequentiallyConsistent)
                let line = await respond(to: Array(buffer.readableBytesView))
                try await outbound.write(ByteBuffer(bytes: line))
                entry.inFlight.subtract(1, ordering: .sequentiallyConsistent)
                entry.closeIfIdle()
            }
            // Let the last answers go out before `executeThenClose` closes (a close drops them).
            try? await channel.channel.writeAndFlush(ByteBuffer())
        }
    }

    private func respond(to bytes: [UInt8]) async -> [UInt8] {
        let request: RPCRequest
        do throws(RPCRequest.Rejection) {
            request = try RPCRequest.decode(bytes, maxDepth: limits.jsonDepth)
        } catch {
            return error.responseLine
        }
        if entry.draining.load(ordering: .sequentiallyConsistent) {
            return RPCResponse.failureLine(id: request.responseID, error: .unavailable("the server is shutting down"))
        }
        do {
            let result = try await admin.run(method: request.method, params: request.params)
            return RPCResponse.successLine(id: request.responseID) { $0.appendRaw(result) }
        } catch {
            return RPCResponse.failureLine(id: request.responseID, error: .from(error))
        }
    }
}
