/// The result of `conversation.append`: the sequence numbers the messages received.
///
/// ```swift
/// RPCResponse.successLine(id: id, result: AppendResult(conversationID: "c1", firstSeq: 1, lastSeq: 3))
/// // {"jsonrpc":"2.0","id":1,"result":{"conversation_id":"c1","first_seq":1,"last_seq":3}}
/// ```
public struct AppendResult: RPCResult, Equatable {
    /// The conversation appended to.
    public let conversationID: String
    /// The sequence number of the first appended message.
    public let firstSeq: UInt64
    /// The sequence number of the last appended message.
    public let lastSeq: UInt64

    /// Creates a result.
    public init(conversationID: String, firstSeq: UInt64, lastSeq: UInt64) {
        self.conversationID = conversationID
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        conversationID = try reader.required(reader.string("conversation_id"), "conversation_id")
        firstSeq = try reader.required(reader.unsigned("first_seq"), "first_seq")
        lastSeq = try reader.required(reader.unsigned("last_seq"), "last_seq")
    }

    /// Writes `{"conversation_id":…,"first_seq":…,"last_seq":…}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("conversation_id", conversationID)
            writer.member("first_seq", firstSeq)
            writer.member("last_seq", lastSeq)
        }
    }
}
