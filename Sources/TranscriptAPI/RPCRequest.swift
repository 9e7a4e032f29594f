/// One JSON-RPC 2.0 request, decoded strictly from one line of the socket protocol.
///
/// The envelope is an object with exactly the members `jsonrpc` (the string `"2.0"`),
/// `method` (a string), `params` (an object, optional) and `id` (a string, number or `null`;
/// absent for a notification). Failures are classified as follows:
///
/// - not strict JSON: -32700, answered with id `null`;
/// - not an object (batches are not supported), `jsonrpc` not `"2.0"`, `method` not a string,
///   `id` of another type, `params` not an object or array, or any other member: -32600;
/// - `params` is an array: -32602 with `data.field` `"params"`, since the envelope is valid
///   JSON-RPC but every method of this API takes named parameters.
///
/// When the id could be read it is echoed in the error response; otherwise the id is `null`.
///
/// ```swift
/// do {
///     let request = try RPCRequest.decode(line)
///     let params = try request.decodeParams(ReadParams.self)
/// } catch {
///     connection.write(error.responseLine)
/// }
/// ```
public struct RPCRequest: Sendable {
    /// A request that cannot be served, with the id to answer it with.
    public struct Rejection: Error, Sendable, Equatable {
        /// What is wrong.
        public let error: RPCError
        /// The request's id if it could be read, otherwise ``RPCID/null``.
        public let id: RPCID

        /// Creates a rejection.
        public init(_ error: RPCError, id: RPCID) {
            self.error = error
            self.id = id
        }

        /// The complete error response line, newline included.
        public var responseLine: [UInt8] {
            RPCResponse.failureLine(id: id, error: error)
        }
    }

    /// The method name as sent; look it up with `RPCMethod(rawValue:)`.
    public let method: String

    /// The `params` object, or `nil` when absent.
    public let params: JSONObject?

    /// The id to echo, or `nil` for a notification (no `id` member).
    public let id: RPCID?

    /// The line the request was decoded from; ``JSONNode/range``s in ``params`` index into it.
    public let line: [UInt8]

    /// Whether the request is a notification (it has no `id`).
    public var isNotification: Bool { id == nil }

    /// The id to put in the response: the request's id, or `null` for a notification.
    public var responseID: RPCID { id ?? .null }

    /// Decodes a request from one line (with or without its trailing newline).
    ///
    /// - Parameters:
    ///   - line: The line's bytes.
    ///   - maxDepth: The deepest JSON nesting accepted.
    ///   - keeping: Which values the parse keeps; by default all. A server passes
    ///     ``keeping(messagesPerAppend:)``.
    /// - Returns: The request.
    /// - Throws: ``Rejection`` with -32700, -32600 or -32602 as described above, or -32013
    ///   (with id `null`) for a line holding more values than `keeping` keeps.
    public static func decode(
        _ line: [UInt8], maxDepth: Int = StrictJSON.defaultMaxDepth, keeping: StrictJSON.Keeping = .everything
    ) throws(Rejection) -> RPCRequest {
        let root: JSONNode
        do {
            root = try StrictJSON(maxDepth: maxDepth, keeping: keeping).parse(line)
        } catch where error.kind == .tooManyValues {
            throw Rejection(.tooLarge("the request has more than \(keeping.values) values outside its messages and metadata"), id: .null)
        } catch {
            throw Rejection(.parseError(error), id: .null)
        }
        guard case .object(let envelope) = root.value else {
            throw Rejection(.invalidRequest("a request must be a JSON object; batches are not supported"), id: .null)
        }
        let id = try readID(envelope, line)
        let answerID = id ?? .null
        for member in envelope.members where !envelopeKeys.contains(where: { member.key.hasSameUTF8(as: $0) }) {
            throw Rejection(.invalidRequest("unknown request member", field: WireRules.fieldName(member.key)), id: answerID)
        }
        guard case .string(let version)? = envelope["jsonrpc"], version.hasSameUTF8(as: "2.0") else {
            throw Rejection(.invalidRequest("jsonrpc must be \"2.0\"", field: "jsonrpc"), id: answerID)
        }
        guard case .string(let method)? = envelope["method"] else {
            throw Rejection(.invalidRequest("method must be a string", field: "method"), id: answerID)
        }
        var params: JSONObject?
        switch envelope["params"] {
        case nil: params = nil
        case .object(let object)?: params = object
        case .array?: throw Rejection(.invalidParams(field: "params", "params must be an object"), id: answerID)
        case _?: throw Rejection(.invalidRequest("params must be an object", field: "params"), id: answerID)
        }
        return RPCRequest(method: method, params: params, id: id, line: line)
    }

    private static let envelopeKeys = ["jsonrpc", "method", "params", "id"]

    /// What a server keeps of a request line: the envelope, the params object, and the arrays
    /// in params with their elements. Every message and the metadata object are checked as
    /// strictly, but skimmed: the API takes only their bytes. At most 65,536 values are kept
    /// (more when `messagesPerAppend` needs it), so no line's parsed values cost more than a
    /// few MiB, however it is built. The keys of an object being parsed are held until it
    /// closes, skimmed or not (duplicate-key detection): a line that is one object of many
    /// short keys still costs several bytes a byte of line.
    ///
    /// - Parameter messagesPerAppend: The server's limit; a line with a few more messages than
    ///   that is still parsed, so that it gets the limit's own error.
    public static func keeping(messagesPerAppend: Int) -> StrictJSON.Keeping {
        // Saturating: an embedder's `APILimits.messagesPerAppend` may be `Int.max` ("no limit").
        let (withEnvelope, overflow) = messagesPerAppend.addingReportingOverflow(64)
        return StrictJSON.Keeping(objectDepth: 2, arrayDepth: 3, values: overflow ? .max : max(1 << 16, withEnvelope))
    }

    private static func readID(_ envelope: JSONObject, _ line: [UInt8]) throws(Rejection) -> RPCID? {
        guard let node = envelope.node(forKey: "id") else { return nil }
        let id = line.withUnsafeBytes { RPCID.from(node, in: $0) }
        guard let id else {
            throw Rejection(.invalidRequest("id must be a string, a number or null", field: "id"), id: .null)
        }
        return id
    }

    /// Decodes the request's params into a wire type.
    ///
    /// - Parameter type: The params type of the method, such as ``AppendParams``.
    /// - Returns: The checked params.
    /// - Throws: ``RPCError`` -32602 naming the offending field.
    public func decodeParams<Params: RPCParams>(_ type: Params.Type = Params.self) throws(RPCError) -> Params {
        try Params(params: params, line: line)
    }

    /// Encodes a request line, as a client sends it.
    ///
    /// - Parameters:
    ///   - id: The id, or `nil` for a notification.
    ///   - method: The method name.
    ///   - params: The params, or `nil` to omit them.
    /// - Returns: Compact JSON and a newline.
    public static func encodeLine(id: RPCID?, method: String, params: (any RPCParams)?) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("jsonrpc", "2.0")
            writer.member("method", method)
            if let params {
                writer.key("params")
                params.write(to: &writer)
            }
            if let id {
                writer.key("id")
                writer.appendRaw(id.json)
            }
        }
        writer.appendNewline()
        return writer.bytes
    }
}
