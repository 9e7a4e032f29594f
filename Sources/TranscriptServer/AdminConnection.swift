internal import NIOCore
import TranscriptAPI
import TranscriptVault
import Synchronization

/// Serves one admin connection, one request at a time, to the owning user only.
///
/// On shutdown (`entry` draining) it finishes the request in hand, answers later ones with
/// `-32050`, and closes once it owes nothing, as client connections do.
struct AdminConnection {
    let connection: AdminChannel
    let entry: ConnectionRegistry.Entry
    let admin: AdminDispatcher
    let limits: APILimits

    func run() async throws {
        reading: for await frame in connection.frames {
            // Counted in flight before it stops counting as waiting: a drain in between would
            // close the connection without its answer.
            entry.inFlight.add(1, ordering: .sequentiallyConsistent)
            connection.taken()
            guard case .line(let buffer) = frame else {
                let error = RPCError.tooLarge("the request line exceeds \(limits.lineBytes) bytes")
                try await connection.write(RPCResponse.failureLine(id: .null, error: error))
                break reading
            }
            let line = await respond(to: Array(buffer.readableBytesView))
            // Returns once the answer is handed to the kernel, so that a close never drops it.
            try await connection.write(line)
            entry.inFlight.subtract(1, ordering: .sequentiallyConsistent)
            entry.closeIfIdle()
        }
        await connection.close()
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
