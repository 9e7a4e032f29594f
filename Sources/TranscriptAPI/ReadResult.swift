/// The result of `conversation.read`: a page of messages, each exactly as it was appended.
///
/// ```swift
/// let page = ReadResult(messages: [.init(seq: 1, createdAtMs: 0, message: Array(#"{"n":1.0}"#.utf8))], nextAfterSeq: nil)
/// // {"messages":[{"seq":1,"created_at":"1970-01-01T00:00:00.000Z","message":{"n":1.0}}],"next_after_seq":null}
/// ```
public struct ReadResult: RPCResult, Equatable {
    /// One stored message.
    public struct Message: Sendable, Equatable {
        /// The message's sequence number in its conversation, from 1.
        public let seq: UInt64
        /// When it was appended, in milliseconds since the Unix epoch.
        public let createdAtMs: Int64
        /// The message object's bytes as the client sent them.
        public let message: [UInt8]

        /// Creates a message entry.
        ///
        /// - Parameters:
        ///   - seq: The sequence number.
        ///   - createdAtMs: The append time.
        ///   - message: A JSON object's bytes, spliced into the output verbatim.
        public init(seq: UInt64, createdAtMs: Int64, message: [UInt8]) {
            self.seq = seq
            self.createdAtMs = createdAtMs
            self.message = message
        }

        init(_ reader: MemberReader) throws(RPCError) {
            seq = try reader.required(reader.unsigned("seq"), "seq")
            createdAtMs = try reader.required(reader.timestamp("created_at"), "created_at")
            message = try reader.required(reader.rawObject("message"), "message")
        }

        /// Writes `{"seq":…,"created_at":…,"message":<verbatim>}`.
        public func write(to writer: inout JSONWriter) {
            writer.object { writer in
                writer.member("seq", seq)
                writer.member("created_at", timestampMs: createdAtMs)
                writer.member("message", raw: message)
            }
        }
    }

    /// The messages in sequence order.
    public let messages: [Message]
    /// The `after_seq` for the next page, or `nil` when this page is the last.
    public let nextAfterSeq: UInt64?

    /// Creates a result.
    public init(messages: [Message], nextAfterSeq: UInt64?) {
        self.messages = messages
        self.nextAfterSeq = nextAfterSeq
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        var messages: [Message] = []
        for element in try reader.required(reader.nestedArray("messages"), "messages") {
            messages.append(try Message(element))
        }
        self.messages = messages
        nextAfterSeq = try reader.unsigned("next_after_seq")
    }

    /// Writes `{"messages":[…],"next_after_seq":n|null}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("messages")
            writer.array { writer in
                for message in messages {
                    message.write(to: &writer)
                }
            }
            writer.member("next_after_seq", nextAfterSeq)
        }
    }
}
