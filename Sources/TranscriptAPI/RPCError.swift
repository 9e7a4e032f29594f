/// A JSON-RPC error as the socket API reports it, with TranscriptVault's codes.
///
/// Every failure a client can see is one of the static constructors below, one per code in
/// the protocol contract. On the wire it becomes
/// `{"code":-32004,"message":"not found","data":{"name":"tvault.NotFound"}}`, with
/// `data.field` and `data.retry_after_ms` when set.
///
/// Messages are fixed, readable texts: they never carry key material, another tenant's data or
/// client content, and "not yours" reads exactly like "does not exist".
///
/// ```swift
/// throw RPCError.invalidParams(field: "limit", "must be between 1 and 1000")
/// ```
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON-RPC error codes of the protocol.
    public enum Code {
        /// The line is not strict JSON.
        public static let parseError = -32700
        /// The JSON is not a valid JSON-RPC 2.0 request.
        public static let invalidRequest = -32600
        /// No such method.
        public static let methodNotFound = -32601
        /// A parameter is missing, unknown, of the wrong type or out of range.
        public static let invalidParams = -32602
        /// No successful `auth` on this connection, or a bad token.
        public static let unauthenticated = -32001
        /// The token lacks the scope or the tenant.
        public static let forbidden = -32003
        /// No such conversation, subject or receipt (or not the caller's).
        public static let notFound = -32004
        /// An idempotency key reused with other content.
        public static let conflict = -32009
        /// The tenant has been shredded.
        public static let tenantShredded = -32010
        /// A line, message or batch over the limits.
        public static let tooLarge = -32013
        /// The token's rate limit is exhausted.
        public static let rateLimited = -32029
        /// The store cannot serve now (for example disk or map full).
        public static let unavailable = -32050
        /// A bug or an unexpected failure inside the server.
        public static let `internal` = -32603
    }

    /// The JSON-RPC error code, one of ``Code``.
    public let code: Int

    /// A readable message.
    public let message: String

    /// A stable machine-readable name sent as `data.name`, such as `tvault.NotFound`.
    public let name: String

    /// The offending parameter, sent as `data.field`.
    public let field: String?

    /// How long to wait before retrying, sent as `data.retry_after_ms`.
    public let retryAfterMs: Int64?

    /// Creates an error; prefer the static constructors, which keep code and name together.
    ///
    /// - Parameters:
    ///   - code: The JSON-RPC code.
    ///   - message: A readable message without secrets or client content.
    ///   - name: The `data.name`.
    ///   - field: The `data.field`, if any.
    ///   - retryAfterMs: The `data.retry_after_ms`, if any.
    public init(code: Int, message: String, name: String, field: String? = nil, retryAfterMs: Int64? = nil) {
        self.code = code
        self.message = message
        self.name = name
        self.field = field
        self.retryAfterMs = retryAfterMs
    }

    /// The code, name, message and field, for logs.
    public var description: String {
        var text = "\(name) (\(code)): \(message)"
        if let field { text += " [field \(field)]" }
        return text
    }
}

extension RPCError {
    /// -32700: the line is not strict JSON.
    public static func parseError(_ message: String = "parse error") -> RPCError {
        RPCError(code: Code.parseError, message: message, name: "tvault.ParseError")
    }

    /// -32700 for a parser error, keeping its explanation and offset (never input content).
    public static func parseError(_ error: JSONError) -> RPCError {
        parseError("parse error: \(error.description)")
    }

    /// -32600: the JSON is not a valid request; `field` names the envelope member at fault.
    public static func invalidRequest(_ message: String = "invalid request", field: String? = nil) -> RPCError {
        RPCError(code: Code.invalidRequest, message: message, name: "tvault.InvalidRequest", field: field)
    }

    /// -32601: no such method. The method name is not echoed.
    public static func methodNotFound(_ message: String = "method not found") -> RPCError {
        RPCError(code: Code.methodNotFound, message: message, name: "tvault.MethodNotFound")
    }

    /// -32602: the parameter `field` is missing, unknown, of the wrong type or out of range.
    public static func invalidParams(field: String, _ message: String = "invalid params") -> RPCError {
        RPCError(code: Code.invalidParams, message: message, name: "tvault.InvalidParams", field: field)
    }

    /// -32001: the connection has not authenticated, or the token is not valid.
    public static func unauthenticated(_ message: String = "unauthenticated") -> RPCError {
        RPCError(code: Code.unauthenticated, message: message, name: "tvault.Unauthenticated")
    }

    /// -32003: the token lacks the scope or does not cover the tenant.
    public static func forbidden(_ message: String = "forbidden") -> RPCError {
        RPCError(code: Code.forbidden, message: message, name: "tvault.Forbidden")
    }

    /// -32004: not found, which is also the answer for anything that is not the caller's.
    public static func notFound(_ message: String = "not found") -> RPCError {
        RPCError(code: Code.notFound, message: message, name: "tvault.NotFound")
    }

    /// -32009: the idempotency key was used before with other content.
    public static func conflict(_ message: String = "idempotency key reused with other content") -> RPCError {
        RPCError(code: Code.conflict, message: message, name: "tvault.Conflict")
    }

    /// -32010: the tenant has been shredded.
    public static func tenantShredded(_ message: String = "tenant shredded") -> RPCError {
        RPCError(code: Code.tenantShredded, message: message, name: "tvault.TenantShredded")
    }

    /// -32013: a line, message or batch is over the limits; `field` names the parameter if any.
    public static func tooLarge(_ message: String = "too large", field: String? = nil) -> RPCError {
        RPCError(code: Code.tooLarge, message: message, name: "tvault.TooLarge", field: field)
    }

    /// -32029: rate limited; retry after `retryAfterMs` milliseconds.
    public static func rateLimited(retryAfterMs: Int64, _ message: String = "rate limited") -> RPCError {
        RPCError(code: Code.rateLimited, message: message, name: "tvault.RateLimited", retryAfterMs: retryAfterMs)
    }

    /// -32050: the store cannot serve now (for example, disk or map full).
    public static func unavailable(_ message: String = "unavailable") -> RPCError {
        RPCError(code: Code.unavailable, message: message, name: "tvault.Unavailable")
    }

    /// -32603: an internal error; the message must not reveal internals to the client.
    public static func `internal`(_ message: String = "internal error") -> RPCError {
        RPCError(code: Code.internal, message: message, name: "tvault.Internal")
    }

    /// Writes the JSON-RPC error object (`code`, `message`, `data`).
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("code", code)
            writer.member("message", message)
            writer.key("data")
            writer.object { data in
                data.member("name", name)
                if let field { data.member("field", field) }
                if let retryAfterMs { data.member("retry_after_ms", retryAfterMs) }
            }
        }
    }
}
