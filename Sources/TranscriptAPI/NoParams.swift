/// The params of a method that takes none (`system.info`): absent, or an empty object.
///
/// ```swift
/// _ = try request.decodeParams(NoParams.self)   // {"x":1} is -32602 with data.field "x"
/// ```
public struct NoParams: RPCParams, Equatable {
    /// Creates the (empty) params for a client.
    public init() {}

    /// Checks that the params carry no member.
    ///
    /// - Throws: ``RPCError`` -32602 naming the first member.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        _ = try MemberReader(params, line: line, allowed: [])
    }

    /// Writes an empty object.
    public func write(to writer: inout JSONWriter) {
        writer.object { _ in }
    }
}
