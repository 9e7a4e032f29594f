/// The params of `conversation.append`.
///
/// Each element of `messages` must be a JSON object and is kept as the exact bytes the client
/// sent: key order, number spelling, escapes and unknown fields survive. `metadata`, when
/// given, must be an object and is kept verbatim too.
///
/// Counts and sizes against the configured limits (1000 messages, 4 MiB each) are the
/// server's to check, answering -32013.
///
/// ```swift
/// let append = try request.decodeParams(AppendParams.self)
/// append.messages[0]   // the first message's original bytes
/// ```
public struct AppendParams: RPCParams, Equatable {
    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// The conversation, created on first append.
    public let conversationID: String
    /// The original bytes of each message object, in order; never empty.
    public let messages: [[UInt8]]
    /// The data subject the conversation belongs to.
    public let subjectID: String?
    /// A free label for the message format (for example `openai.chat`); 1 to 256 bytes.
    public let format: String?
    /// The original bytes of the metadata object.
    public let metadata: [UInt8]?
    /// A key that makes a retried append happen once.
    public let idempotencyKey: String?

    /// Creates params for a client.
    ///
    /// - Parameters:
    ///   - messages: Each message's JSON object bytes, written verbatim.
    ///   - metadata: A JSON object's bytes, written verbatim.
    public init(
        tenant: String? = nil, conversationID: String, messages: [[UInt8]], subjectID: String? = nil,
        format: String? = nil, metadata: [UInt8]? = nil, idempotencyKey: String? = nil
    ) {
        self.tenant = tenant
        self.conversationID = conversationID
        self.messages = messages
        self.subjectID = subjectID
        self.format = format
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field: `messages` when it is missing, empty, or
    ///   has an element that is not an object; identifiers when empty or over 256 bytes.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: [
            "tenant", "conversation_id", "messages", "subject_id", "format", "metadata", "idempotency_key",
        ])
        tenant = try reader.tenant()
        conversationID = try reader.required(reader.identifier("conversation_id"), "conversation_id")
        let elements = try reader.required(reader.array("messages"), "messages")
        guard !elements.isEmpty else {
            throw .invalidParams(field: "messages", "must contain at least one message")
        }
        var messages: [[UInt8]] = []
        messages.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .object = element.value else {
                throw .invalidParams(field: "messages", "element \(index) must be an object")
            }
            messages.append(element.bytes(in: line))
        }
        self.messages = messages
        subjectID = try reader.identifier("subject_id")
        format = try reader.identifier("format")
        metadata = try reader.rawObject("metadata")
        idempotencyKey = try reader.identifier("idempotency_key")
    }

    /// Writes the params object, splicing messages and metadata verbatim.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            writer.member("conversation_id", conversationID)
            writer.key("messages")
            writer.array { writer in
                for message in messages {
                    writer.appendRaw(message)
                }
            }
            if let subjectID { writer.member("subject_id", subjectID) }
            if let format { writer.member("format", format) }
            if let metadata { writer.member("metadata", raw: metadata) }
            if let idempotencyKey { writer.member("idempotency_key", idempotencyKey) }
        }
    }
}
