/// The params of `conversation.delete`: the conversation to crypto-shred.
///
/// ```swift
/// let delete = try request.decodeParams(DeleteParams.self)
/// ```
public struct DeleteParams: RPCParams, Equatable {
    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// The conversation.
    public let conversationID: String

    /// Creates params for a client.
    public init(tenant: String? = nil, conversationID: String) {
        self.tenant = tenant
        self.conversationID = conversationID
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: ["tenant", "conversation_id"])
        tenant = try reader.tenant()
        conversationID = try reader.required(reader.identifier("conversation_id"), "conversation_id")
    }

    /// Writes the params object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            writer.member("conversation_id", conversationID)
        }
    }
}
