internal import NIOCore
import TranscriptAPI
import TranscriptVault

/// Serves one admin connection, one request at a time, to the owning user only.
struct AdminConnection {
    let channel: NIOAsyncChannel<Frame, ByteBuffer>
    let admin: AdminDispatcher
    let limits: APILimits

    func run() async throws {
        try await channel.executeThenClose { inbound, outbound in
            for try await frame in inbound {
                guard case .line(let buffer) = frame else {
                    let error = RPCError.tooLarge("the request line exceeds \(limits.lineBytes) bytes")
                    try await outbound.write(ByteBuffer(bytes: RPCResponse.failureLine(id: .null, error: error)))
                    return
                }
                let line: [UInt8]
                let request: RPCRequest
                do throws(RPCRequest.Rejection) {
                    request = try RPCRequest.decode(Array(buffer.readableBytesView), maxDepth: limits.jsonDepth)
                } catch {
                    try await outbound.write(ByteBuffer(bytes: error.responseLine))
                    continue
                }
                do {
                    let result = try await admin.run(method: request.method, params: request.params)
                    line = RPCResponse.successLine(id: request.responseID) { $0.appendRaw(result) }
                } catch {
                    line = RPCResponse.failureLine(id: request.responseID, error: .from(error))
                }
                try await outbound.write(ByteBuffer(bytes: line))
            }
        }
    }
}
