/// The methods of the socket API.
///
/// ```swift
/// switch RPCMethod(rawValue: request.method) {
/// case .conversationAppend?: …
/// case nil: throw RPCError.methodNotFound()
/// }
/// ```
public enum RPCMethod: String, Sendable, CaseIterable {
    /// Authenticates the connection with a bearer token.
    case auth = "auth"
    /// Describes the server; needs no authentication.
    case systemInfo = "system.info"
    /// Appends messages to a conversation, creating it if needed.
    case conversationAppend = "conversation.append"
    /// Reads a page of a conversation's messages.
    case conversationRead = "conversation.read"
    /// Lists conversations, optionally of one subject or time window.
    case conversationList = "conversation.list"
    /// Crypto-shreds one conversation.
    case conversationDelete = "conversation.delete"
    /// Crypto-shreds every conversation of a subject.
    case subjectErase = "subject.erase"
    /// Returns every conversation of a subject with its messages.
    case subjectExport = "subject.export"
    /// Reads the state of a shred receipt.
    case receiptGet = "receipt.get"

    /// Whether the connection must have authenticated before calling this method.
    public var requiresAuthentication: Bool {
        switch self {
        case .auth, .systemInfo: false
        default: true
        }
    }

    /// The token scope the method needs, or `nil` for `auth` and `system.info`.
    ///
    /// `subject.erase` and `receipt.get` need `delete`, since receipts come from shreds.
    public var requiredScope: RPCScope? {
        switch self {
        case .auth, .systemInfo: nil
        case .conversationAppend: .append
        case .conversationRead: .read
        case .conversationList: .list
        case .conversationDelete, .subjectErase, .receiptGet: .delete
        case .subjectExport: .export
        }
    }
}

/// A permission a token can carry.
public enum RPCScope: String, Sendable, CaseIterable {
    /// `conversation.append`.
    case append
    /// `conversation.read`.
    case read
    /// `conversation.list`.
    case list
    /// `conversation.delete`, `subject.erase`, `receipt.get`.
    case delete
    /// `subject.export`.
    case export
}
