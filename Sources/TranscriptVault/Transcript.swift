/// An append: messages for one conversation of one tenant.
public struct AppendRequest: Sendable {
    /// The tenant.
    public var tenant: String
    /// The client's conversation id (stored only inside ciphertext and as a keyed hash).
    public var conversationID: String
    /// The exact bytes of each message, stored and returned byte for byte.
    public var messages: [[UInt8]]
    /// The end user the conversation belongs to; set on the first append.
    public var subjectID: String?
    /// A free label such as `openai.chat`.
    public var format: String?
    /// The exact bytes of a client metadata JSON object.
    public var metadata: [UInt8]?
    /// Makes a retried append return the first result instead of storing twice.
    public var idempotencyKey: String?

    public init(
        tenant: String, conversationID: String, messages: [[UInt8]], subjectID: String? = nil,
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
}

/// The sequence numbers an append was given.
public struct AppendResult: Sendable, Equatable {
    public var conversationID: String
    public var firstSeq: UInt64
    public var lastSeq: UInt64
}

/// One stored message.
public struct StoredMessage: Sendable, Equatable {
    /// Its sequence number, from 1 per conversation.
    public var seq: UInt64
    /// When it was appended, in milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// The exact bytes the client sent.
    public var message: [UInt8]
}

/// A page of a conversation's messages.
public struct MessagePage: Sendable, Equatable {
    public var messages: [StoredMessage]
    /// Pass as `afterSeq` for the next page; `nil` when there is none.
    public var nextAfterSeq: UInt64?
}

/// What a listing tells about one conversation.
public struct ConversationSummary: Sendable, Equatable {
    public var conversationID: String
    public var subjectID: String?
    public var format: String?
    /// The exact bytes of the client's metadata object, if any.
    public var metadata: [UInt8]?
    public var createdAt: Int64
    public var updatedAt: Int64
    public var messageCount: UInt64
}

/// Which conversations to list.
public struct ListQuery: Sendable {
    /// Only the conversations of this subject.
    public var subjectID: String?
    /// Only those updated strictly after this time (ms since the epoch).
    public var updatedAfter: Int64?
    /// Only those updated strictly before this time (ms since the epoch).
    public var updatedBefore: Int64?
    /// The most conversations in the page (1...1000).
    public var limit: Int
    /// The `nextCursor` of the previous page.
    public var cursor: String?

    public init(subjectID: String? = nil, updatedAfter: Int64? = nil, updatedBefore: Int64? = nil, limit: Int = 100, cursor: String? = nil) {
        self.subjectID = subjectID
        self.updatedAfter = updatedAfter
        self.updatedBefore = updatedBefore
        self.limit = limit
        self.cursor = cursor
    }
}

/// A page of conversations.
public struct ConversationPage: Sendable, Equatable {
    public var conversations: [ConversationSummary]
    /// Pass as `cursor` for the next page; `nil` when there is none.
    public var nextCursor: String?
}
