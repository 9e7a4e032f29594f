/// The limits a server enforces, as `auth` reports them.
///
/// The defaults are the protocol's: lines of 16 MiB, messages of 4 MiB, 1000 messages per
/// append, JSON depth 64, 5 minutes idle (10 s before `auth`), 1024 connections.
///
/// ```swift
/// // "limits":{"line_bytes":16777216,"message_bytes":4194304,"messages_per_append":1000,
/// //   "json_depth":64,"idle_timeout_ms":300000,"unauthenticated_idle_timeout_ms":10000,
/// //   "connections":1024,"requests_per_second":null}
/// ```
public struct APILimits: Sendable, Equatable {
    /// The longest request line in bytes, newline excluded.
    public var lineBytes: Int = 16 << 20
    /// The largest single message object in bytes.
    public var messageBytes: Int = 4 << 20
    /// The most messages in one `conversation.append`.
    public var messagesPerAppend: Int = 1000
    /// The deepest JSON nesting accepted in a request.
    public var jsonDepth: Int = StrictJSON.defaultMaxDepth
    /// How long an authenticated connection may stay idle, in milliseconds.
    public var idleTimeoutMs: Int64 = 300_000
    /// How long a connection may stay idle before `auth`, in milliseconds.
    public var unauthenticatedIdleTimeoutMs: Int64 = 10_000
    /// The most simultaneous connections.
    public var connections: Int = 1024
    /// The token's sustained request rate, or `nil` when unlimited.
    public var requestsPerSecond: Int?

    /// Creates the default limits; adjust the properties as configured.
    public init() {}

    init(_ reader: MemberReader) throws(RPCError) {
        lineBytes = Int(try reader.required(reader.integer("line_bytes", in: 1...Int64(Int32.max)), "line_bytes"))
        messageBytes = Int(try reader.required(reader.integer("message_bytes", in: 1...Int64(Int32.max)), "message_bytes"))
        messagesPerAppend = Int(try reader.required(reader.integer("messages_per_append", in: 1...Int64(Int32.max)), "messages_per_append"))
        jsonDepth = Int(try reader.required(reader.integer("json_depth", in: 1...Int64(Int32.max)), "json_depth"))
        idleTimeoutMs = try reader.required(reader.integer("idle_timeout_ms", in: 0...Int64.max), "idle_timeout_ms")
        unauthenticatedIdleTimeoutMs = try reader.required(
            reader.integer("unauthenticated_idle_timeout_ms", in: 0...Int64.max), "unauthenticated_idle_timeout_ms")
        connections = Int(try reader.required(reader.integer("connections", in: 1...Int64(Int32.max)), "connections"))
        requestsPerSecond = try reader.integer("requests_per_second", in: 1...Int64(Int32.max)).map { Int($0) }
    }

    /// Writes the limits object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("line_bytes", lineBytes)
            writer.member("message_bytes", messageBytes)
            writer.member("messages_per_append", messagesPerAppend)
            writer.member("json_depth", jsonDepth)
            writer.member("idle_timeout_ms", idleTimeoutMs)
            writer.member("unauthenticated_idle_timeout_ms", unauthenticatedIdleTimeoutMs)
            writer.member("connections", connections)
            writer.key("requests_per_second")
            if let requestsPerSecond { writer.number(requestsPerSecond) } else { writer.null() }
        }
    }
}
