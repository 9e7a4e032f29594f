public import TranscriptAPI
public import TranscriptVault

extension RPCError {
    /// The wire error for an engine error (DESIGN §5). Never carries key material or content.
    public init(_ error: VaultError) {
        switch error {
        case let .invalidArgument(field, reason): self = .invalidParams(field: field, reason)
        case .unauthenticated: self = .unauthenticated("unknown, revoked or malformed token")
        case .notFound: self = .notFound()
        case .conflict: self = .conflict()
        case let .alreadyExists(what): self = .conflict("\(what) already exists")
        case .tenantShredded: self = .tenantShredded()
        case let .tooLarge(what): self = .tooLarge(what)
        case let .unavailable(why): self = .unavailable(why)
        case .recordCorrupted: self = .internal("a stored record failed its integrity check")
        default: self = .internal("internal error")
        }
    }

    /// The wire error for any error thrown by a method.
    static func from(_ error: any Error) -> RPCError {
        if let rpc = error as? RPCError { return rpc }
        if let vault = error as? VaultError { return RPCError(vault) }
        return .internal("internal error")
    }
}
