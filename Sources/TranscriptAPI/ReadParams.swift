/// The params of `conversation.read`: a page of messages after a sequence number.
///
/// ```swift
/// let read = try request.decodeParams(ReadParams.self)
/// // {"conversation_id":"c1"} → afterSeq 0, limit 100
/// ```
public struct ReadParams: RPCParams, Equatable {
    /// The default page size.
    public static let defaultLimit = 100

    /// The largest page size.
    public static let maxLimit = 1000

    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// The conversation.
    public let conversationID: String
    /// Return messages with a sequence number greater than this; 0 reads from the start.
    public let afterSeq: UInt64
    /// The most messages to return, 1 to ``maxLimit``.
    public let limit: Int

    /// Creates params for a client.
    public init(tenant: String? = nil, conversationID: String, afterSeq: UInt64 = 0, limit: Int = ReadParams.defaultLimit) {
        self.tenant = tenant
        self.conversationID = conversationID
        self.afterSeq = afterSeq
        self.limit = limit
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field: `after_seq` when negative or not an
    ///   integer, `limit` outside 1…1000.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: ["tenant", "conversation_id", "after_seq", "limit"])
        tenant = try reader.tenant()
        conversationID = try reader.required(reader.identifier("conversation_id"), "conversation_id")
        afterSeq = UInt64(try reader.integer("after_seq", in: 0...Int64.max) ?? 0)
        limit = Int(try reader.integer("limit", in: 1...Int64(Self.maxLimit)) ?? Int64(Self.defaultLimit))
    }

    /// Writes the params object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            writer.member("conversation_id", conversationID)
            writer.member("after_seq", afterSeq)
            writer.member("limit", limit)
        }
    }
}
