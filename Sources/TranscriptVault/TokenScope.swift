/// What a token may do (DESIGN §5).
public enum TokenScope: String, Sendable, CaseIterable, Comparable {
    case append, read, list, delete, export

    var bit: UInt8 {
        switch self {
        case .append: 1
        case .read: 2
        case .list: 4
        case .delete: 8
        case .export: 16
        }
    }

    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool { lhs.bit < rhs.bit }

    static func decode(_ mask: UInt8) -> Set<TokenScope> { Set(allCases.filter { mask & $0.bit != 0 }) }
    static func encode(_ scopes: Set<TokenScope>) -> UInt8 { scopes.reduce(0) { $0 | $1.bit } }
}

/// What an authenticated token grants: its tenants (or all) and scopes.
public struct TokenGrant: Sendable, Equatable {
    /// The token's public id (the `<id>` of `tvt_<id>_<secret>`).
    public var id: String
    /// The tenants it may use, or `nil` for every tenant.
    public var tenants: [String]?
    /// The scopes it holds.
    public var scopes: Set<TokenScope>

    /// Whether the grant covers `tenant`.
    public func covers(_ tenant: String) -> Bool { tenants?.contains(tenant) ?? true }
}

/// A token as listed by admins: never its secret.
public struct TokenInfo: Sendable, Equatable {
    public var id: String
    public var tenants: [String]?
    public var scopes: Set<TokenScope>
    public var createdAt: Int64
    public var revoked: Bool
}

/// A freshly issued token: the only time its secret exists outside the caller's hands.
public struct IssuedToken: Sendable {
    /// The whole bearer token, `tvt_<id>_<secret>`.
    public var token: String
    /// Its public id.
    public var id: String
}
