/// The params of `auth`: `{"token":"tvt_<id>_<secret>"}`.
///
/// Only the shape is checked here (a non-empty string of at most 1024 bytes); whether the
/// token is real is the server's business and a bad one is -32001, not -32602. The token
/// never appears in `description`, `debugDescription` or a `dump`.
///
/// ```swift
/// let auth = try request.decodeParams(AuthParams.self)
/// ```
public struct AuthParams: RPCParams, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The bearer token.
    public let token: String

    /// Creates params for a client.
    ///
    /// - Parameter token: The bearer token.
    public init(token: String) {
        self.token = token
    }

    /// Decodes `token`.
    ///
    /// - Throws: ``RPCError`` -32602 for a missing, non-string, empty or over-long token.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: ["token"])
        token = try reader.required(reader.boundedString("token", maxBytes: WireRules.maxTokenBytes), "token")
    }

    /// Writes `{"token":…}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { $0.member("token", token) }
    }

    /// A redacted description.
    public var description: String { "AuthParams(token: <redacted>)" }

    /// A redacted description.
    public var debugDescription: String { description }

    /// A mirror without children, so that `dump` does not print the token.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
