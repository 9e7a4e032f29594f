/// JSON-RPC 2.0 response lines: built by the server, decoded by clients.
///
/// A success line is `{"jsonrpc":"2.0","id":<id>,"result":<result>}` and an error line
/// `{"jsonrpc":"2.0","id":<id>,"error":{"code":…,"message":…,"data":{"name":…}}}`, each
/// compact and ended by a newline. The id is spliced in verbatim.
///
/// ```swift
/// let line = RPCResponse.successLine(id: request.responseID, result: appendResult)
/// let response = try RPCResponse.decode(line)   // on the client side
/// ```
public struct RPCResponse: Sendable {
    /// What a response carries.
    public enum Outcome: Sendable, Equatable {
        /// The `result` value; its range indexes into ``RPCResponse/line``.
        case result(JSONNode)
        /// The `error` object.
        case error(RPCError)
    }

    /// The id the server echoed.
    public let id: RPCID

    /// The result or the error.
    public let outcome: Outcome

    /// The line the response was decoded from.
    public let line: [UInt8]

    /// The deepest nesting a client accepts: the request limit plus the result's wrapping.
    public static let defaultMaxDepth = StrictJSON.defaultMaxDepth + 8

    /// Builds a success line from a result value.
    ///
    /// - Parameters:
    ///   - id: The request's ``RPCRequest/responseID``.
    ///   - result: The method's result.
    /// - Returns: Compact JSON and a newline.
    public static func successLine(id: RPCID, result: some RPCResult) -> [UInt8] {
        successLine(id: id) { result.write(to: &$0) }
    }

    /// Builds a success line whose result `writeResult` writes.
    ///
    /// - Parameters:
    ///   - id: The request's ``RPCRequest/responseID``.
    ///   - writeResult: Writes exactly one JSON value.
    /// - Returns: Compact JSON and a newline.
    public static func successLine(id: RPCID, writeResult: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("jsonrpc", "2.0")
            writer.key("id")
            writer.appendRaw(id.json)
            writer.key("result")
            writeResult(&writer)
        }
        writer.appendNewline()
        return writer.bytes
    }

    /// Builds an error line.
    ///
    /// - Parameters:
    ///   - id: The request's id, or ``RPCID/null`` when it could not be read.
    ///   - error: The error.
    /// - Returns: Compact JSON and a newline.
    public static func failureLine(id: RPCID, error: RPCError) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("jsonrpc", "2.0")
            writer.key("id")
            writer.appendRaw(id.json)
            writer.key("error")
            error.write(to: &writer)
        }
        writer.appendNewline()
        return writer.bytes
    }

    /// Decodes a response line, as a client receives it.
    ///
    /// - Parameters:
    ///   - line: The line, with or without its newline.
    ///   - maxDepth: The deepest JSON nesting accepted.
    /// - Returns: The response.
    /// - Throws: ``RPCError`` -32700 when the line is not strict JSON, -32600 when it is not
    ///   a JSON-RPC 2.0 response.
    public static func decode(_ line: [UInt8], maxDepth: Int = defaultMaxDepth) throws(RPCError) -> RPCResponse {
        let root: JSONNode
        do {
            root = try StrictJSON(maxDepth: maxDepth).parse(line)
        } catch {
            throw .parseError(error)
        }
        guard case .object(let envelope) = root.value,
              case .string(let version)? = envelope["jsonrpc"], version == "2.0",
              let idNode = envelope.node(forKey: "id"),
              let id = line.withUnsafeBytes({ RPCID.from(idNode, in: $0) }) else {
            throw .invalidRequest("not a JSON-RPC 2.0 response")
        }
        switch (envelope.node(forKey: "result"), envelope["error"]) {
        case (let result?, nil):
            return RPCResponse(id: id, outcome: .result(result), line: line)
        case (nil, .object(let error)?):
            return RPCResponse(id: id, outcome: .error(try decodeError(error)), line: line)
        default:
            throw .invalidRequest("a response needs exactly one of result and error")
        }
    }

    /// Decodes the result as a method's result type, or throws the response's error.
    ///
    /// - Parameter type: The method's result type, such as ``AppendResult``.
    /// - Returns: The result.
    /// - Throws: The server's ``RPCError``, or -32603 when the result is malformed.
    public func decodeResult<Result: RPCResult>(_ type: Result.Type = Result.self) throws(RPCError) -> Result {
        switch outcome {
        case .result(let node): try Result(result: node, line: line)
        case .error(let error): throw error
        }
    }

    private static func decodeError(_ object: JSONObject) throws(RPCError) -> RPCError {
        guard case .number(let code)? = object["code"], let codeValue = code.int64Value,
              case .string(let message)? = object["message"] else {
            throw .invalidRequest("malformed error object")
        }
        let data = object["data"]?.objectValue
        return RPCError(
            code: Int(truncatingIfNeeded: codeValue),
            message: message,
            name: data?["name"]?.stringValue ?? "",
            field: data?["field"]?.stringValue,
            retryAfterMs: data?["retry_after_ms"]?.numberValue?.int64Value
        )
    }
}
