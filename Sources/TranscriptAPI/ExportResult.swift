/// The result of `subject.export`: every conversation of a subject with all its messages.
///
/// Each conversation is its ``ListResult/Conversation`` summary plus a `messages` array as in
/// ``ReadResult``, messages verbatim.
///
/// ```swift
/// // {"subject_id":"u1","conversations":[{"conversation_id":"c1",…,"message_count":2,
/// //   "messages":[{"seq":1,"created_at":"…","message":{…}},…]}]}
/// ```
public struct ExportResult: RPCResult, Equatable {
    /// One conversation with its messages.
    public struct Conversation: Sendable, Equatable {
        /// The conversation's summary.
        public let summary: ListResult.Conversation
        /// All of its messages in sequence order.
        public let messages: [ReadResult.Message]

        /// Creates an exported conversation.
        public init(summary: ListResult.Conversation, messages: [ReadResult.Message]) {
            self.summary = summary
            self.messages = messages
        }

        init(_ reader: MemberReader) throws(RPCError) {
            summary = try ListResult.Conversation(reader)
            var messages: [ReadResult.Message] = []
            for element in try reader.required(reader.nestedArray("messages"), "messages") {
                messages.append(try ReadResult.Message(element))
            }
            self.messages = messages
        }

        /// Writes the conversation as one object.
        ///
        /// A server that streams a large export can write conversations one at a time.
        public func write(to writer: inout JSONWriter) {
            writer.object { writer in
                summary.writeMembers(to: &writer)
                writer.key("messages")
                writer.array { writer in
                    for message in messages {
                        message.write(to: &writer)
                    }
                }
            }
        }
    }

    /// The subject exported.
    public let subjectID: String
    /// Its conversations.
    public let conversations: [Conversation]

    /// Creates a result.
    public init(subjectID: String, conversations: [Conversation]) {
        self.subjectID = subjectID
        self.conversations = conversations
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        subjectID = try reader.required(reader.string("subject_id"), "subject_id")
        var conversations: [Conversation] = []
        for element in try reader.required(reader.nestedArray("conversations"), "conversations") {
            conversations.append(try Conversation(element))
        }
        self.conversations = conversations
    }

    /// Writes `{"subject_id":…,"conversations":[…]}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("subject_id", subjectID)
            writer.key("conversations")
            writer.array { writer in
                for conversation in conversations {
                    conversation.write(to: &writer)
                }
            }
        }
    }
}
