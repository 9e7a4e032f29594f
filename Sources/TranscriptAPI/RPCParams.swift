/// The params of one API method: decoded strictly from a request, encoded by clients.
///
/// Decoding rejects, with -32602 and the field name in `data.field`, any unknown member, a
/// value of the wrong type, a missing required member and a value out of range. An explicit
/// `null` counts as absent for optional members.
///
/// ```swift
/// let params = try request.decodeParams(ReadParams.self)
/// ```
public protocol RPCParams: Sendable {
    /// Decodes and checks the params.
    ///
    /// - Parameters:
    ///   - params: The request's `params` object, or `nil` when absent.
    ///   - line: The bytes the object was parsed from, for members kept verbatim.
    /// - Throws: ``RPCError`` -32602 naming the offending field.
    init(params: JSONObject?, line: [UInt8]) throws(RPCError)

    /// Writes the params as a JSON object.
    func write(to writer: inout JSONWriter)
}

/// A method's result: written into a success response by the server, read back by clients.
///
/// Reading is tolerant of members it does not know, so that older clients keep working
/// when a server adds fields; a missing or mistyped known member is -32603.
public protocol RPCResult: Sendable {
    /// Decodes the result from a response.
    ///
    /// - Parameters:
    ///   - result: The response's `result` value.
    ///   - line: The bytes it was parsed from, for members kept verbatim.
    /// - Throws: ``RPCError`` -32603 "malformed result" naming the member.
    init(result: JSONNode, line: [UInt8]) throws(RPCError)

    /// Writes the result value.
    func write(to writer: inout JSONWriter)
}
