import TranscriptAPI
import TranscriptClient
import TranscriptServer
import TranscriptVault

/// Runs an admin method through the server's `admin.sock` when a server owns the data
/// directory, else on the store opened in-process: the same code answers either way.
enum AdminCall {
    /// Returns the result object of `method` as a parsed JSON object and its bytes.
    static func run(_ method: String, params: [UInt8], options: GlobalOptions) async throws -> (object: JSONObject, bytes: [UInt8]) {
        let directory = DataDirectory(path: options.dataDirectory)
        let bytes: [UInt8]
        if directory.isOwnedByAnotherProcess {
            bytes = try await viaSocket(method, params: params, path: options.adminSocketPath)
        } else {
            let vault = try options.openVault()
            defer { vault.close() }
            let parsed = try parse(params)
            do {
                bytes = try await AdminDispatcher(vault: vault, inProcess: true, progress: ProgressLine.reporter()).run(method: method, params: parsed)
            } catch let error as RPCError {
                throw CLIError.failure(error.message)
            } catch let error as VaultError {
                throw CLIError(error)
            }
        }
        return (try parse(bytes), bytes)
    }

    private static func viaSocket(_ method: String, params: [UInt8], path: String) async throws -> [UInt8] {
        let client: TranscriptClient
        do {
            client = try await TranscriptClient.connect(socketPath: path)
        } catch {
            throw CLIError.failure("a server owns the data directory but its admin socket \(path) does not answer (\(error)). " +
                                   "Run as the server's user; for a server started with --admin-socket elsewhere, give the same " +
                                   "--admin-socket, or set TVAULT_ADMIN_SOCKET")
        }
        defer { Task { try? await client.close() } }
        let line = RPCRequest.encodeLine(id: RPCID(1), method: method, params: RawParams(bytes: params))
        let response = try RPCResponse.decode(try await client.sendRaw(Array(line.dropLast())))
        switch response.outcome {
        case .result(let node): return node.bytes(in: response.line)
        case .error(let error): throw CLIError.failure(error.message)
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONObject {
        guard case .object(let object) = try StrictJSON().parse(bytes).value else {
            throw CLIError.failure("internal error: an admin result is not an object")
        }
        return object
    }
}

/// Params given as the bytes of a JSON object.
struct RawParams: RPCParams {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        bytes = params.map { Array(line[$0.range]) } ?? Array("{}".utf8)
    }

    func write(to writer: inout JSONWriter) { writer.appendRaw(bytes) }
}
