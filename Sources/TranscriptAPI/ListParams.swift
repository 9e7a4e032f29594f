/// The params of `conversation.list`: a page of conversations, optionally filtered.
///
/// `updated_after` and `updated_before` are RFC 3339 UTC timestamps (`Z`, optional fraction);
/// they arrive here as milliseconds since the Unix epoch.
///
/// ```swift
/// let list = try request.decodeParams(ListParams.self)
/// // {"subject_id":"u1","updated_after":"2026-01-01T00:00:00Z","limit":50}
/// ```
public struct ListParams: RPCParams, Equatable {
    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// Only conversations of this subject.
    public let subjectID: String?
    /// Only conversations updated strictly after this time, in milliseconds since the epoch.
    public let updatedAfter: Int64?
    /// Only conversations updated strictly before this time, in milliseconds since the epoch.
    public let updatedBefore: Int64?
    /// The most conversations to return, 1 to ``ReadParams/maxLimit``.
    public let limit: Int
    /// Where to continue: the `next_cursor` of the previous page.
    public let cursor: String?

    /// Creates params for a client.
    public init(
        tenant: String? = nil, subjectID: String? = nil, updatedAfter: Int64? = nil, updatedBefore: Int64? = nil,
        limit: Int = ReadParams.defaultLimit, cursor: String? = nil
    ) {
        self.tenant = tenant
        self.subjectID = subjectID
        self.updatedAfter = updatedAfter
        self.updatedBefore = updatedBefore
        self.limit = limit
        self.cursor = cursor
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field: a timestamp that is not RFC 3339 UTC,
    ///   `limit` outside 1…1000, an empty or over-long `cursor`.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: [
            "tenant", "subject_id", "updated_after", "updated_before", "limit", "cursor",
        ])
        tenant = try reader.tenant()
        subjectID = try reader.identifier("subject_id")
        updatedAfter = try reader.timestamp("updated_after")
        updatedBefore = try reader.timestamp("updated_before")
        limit = Int(try reader.integer("limit", in: 1...Int64(ReadParams.maxLimit)) ?? Int64(ReadParams.defaultLimit))
        cursor = try reader.boundedString("cursor", maxBytes: WireRules.maxCursorBytes)
    }

    /// Writes the params object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            if let subjectID { writer.member("subject_id", subjectID) }
            if let updatedAfter { writer.member("updated_after", timestampMs: updatedAfter) }
            if let updatedBefore { writer.member("updated_before", timestampMs: updatedBefore) }
            writer.member("limit", limit)
            if let cursor { writer.member("cursor", cursor) }
        }
    }
}
