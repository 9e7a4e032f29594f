/// The result of `conversation.list`: a page of conversation summaries.
///
/// ```swift
/// // {"conversations":[{"conversation_id":"c1","subject_id":"u1","format":null,"metadata":{"k":1},
/// //   "created_at":"…","updated_at":"…","message_count":3}],"next_cursor":null}
/// ```
public struct ListResult: RPCResult, Equatable {
    /// What the store knows about one conversation, without its messages.
    public struct Conversation: Sendable, Equatable {
        /// The conversation id.
        public let conversationID: String
        /// The data subject, if one was given.
        public let subjectID: String?
        /// The format label, if one was given.
        public let format: String?
        /// The metadata object's bytes as the client sent them, if any.
        public let metadata: [UInt8]?
        /// When the conversation was created, in milliseconds since the Unix epoch.
        public let createdAtMs: Int64
        /// When it last received messages, in milliseconds since the Unix epoch.
        public let updatedAtMs: Int64
        /// How many messages it holds.
        public let messageCount: UInt64

        /// Creates a summary.
        ///
        /// - Parameter metadata: A JSON object's bytes, spliced into the output verbatim.
        public init(
            conversationID: String, subjectID: String?, format: String?, metadata: [UInt8]?,
            createdAtMs: Int64, updatedAtMs: Int64, messageCount: UInt64
        ) {
            self.conversationID = conversationID
            self.subjectID = subjectID
            self.format = format
            self.metadata = metadata
            self.createdAtMs = createdAtMs
            self.updatedAtMs = updatedAtMs
            self.messageCount = messageCount
        }

        init(_ reader: MemberReader) throws(RPCError) {
            conversationID = try reader.required(reader.string("conversation_id"), "conversation_id")
            subjectID = try reader.string("subject_id")
            format = try reader.string("format")
            metadata = try reader.rawObject("metadata")
            createdAtMs = try reader.required(reader.timestamp("created_at"), "created_at")
            updatedAtMs = try reader.required(reader.timestamp("updated_at"), "updated_at")
            messageCount = try reader.required(reader.unsigned("message_count"), "message_count")
        }

        /// Writes the summary's members into an object that the caller has opened.
        ///
        /// Absent optional fields are written as `null`, so every summary has the same keys.
        public func writeMembers(to writer: inout JSONWriter) {
            writer.member("conversation_id", conversationID)
            writer.member("subject_id", subjectID)
            writer.member("format", format)
            writer.member("metadata", raw: metadata)
            writer.member("created_at", timestampMs: createdAtMs)
            writer.member("updated_at", timestampMs: updatedAtMs)
            writer.member("message_count", messageCount)
        }
    }

    /// The conversations of this page.
    public let conversations: [Conversation]
    /// The `cursor` for the next page, or `nil` when this page is the last.
    public let nextCursor: String?

    /// Creates a result.
    public init(conversations: [Conversation], nextCursor: String?) {
        self.conversations = conversations
        self.nextCursor = nextCursor
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        var conversations: [Conversation] = []
        for element in try reader.required(reader.nestedArray("conversations"), "conversations") {
            conversations.append(try Conversation(element))
        }
        self.conversations = conversations
        nextCursor = try reader.string("next_cursor")
    }

    /// Writes `{"conversations":[…],"next_cursor":"…"|null}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("conversations")
            writer.array { writer in
                for conversation in conversations {
                    writer.object { conversation.writeMembers(to: &$0) }
                }
            }
            writer.member("next_cursor", nextCursor)
        }
    }
}
