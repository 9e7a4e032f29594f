public import TranscriptAPI

/// The one error type of the client: a server's error answer, or a transport failure.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a JSON-RPC error.
    case server(RPCError)
    /// The connection closed before the response arrived.
    case connectionClosed
    /// The server's answer was not a valid response.
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .server(let error): "server error \(error.code) \(error.name): \(error.message)"
        case .connectionClosed: "the connection closed"
        case .malformedResponse(let why): "malformed response: \(why)"
        }
    }

    /// The server's error, if this is one.
    public var rpcError: RPCError? {
        if case .server(let error) = self { return error }
        return nil
    }
}
