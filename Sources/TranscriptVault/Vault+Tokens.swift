internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    static let tokenPrefix = "tvt_"

    /// Issues a bearer token `tvt_<id>_<secret>` bound to `tenants` (or all, when `nil`) and
    /// `scopes`. Only a keyed hash of the secret is stored.
    ///
    /// ```swift
    /// let issued = try await vault.issueToken(tenants: ["acme"], scopes: [.append, .read])
    /// print(issued.token)   // shown once
    /// ```
    ///
    /// - Throws: ``VaultError/notFound`` when a named tenant does not exist,
    ///   ``VaultError/tenantShredded`` when one is shredded or scheduled for it,
    ///   ``VaultError/invalidArgument(field:reason:)`` for no scopes or a bad tenant name.
    public func issueToken(tenants: [String]?, scopes: Set<TokenScope>) async throws -> IssuedToken {
        guard !scopes.isEmpty else { throw VaultError.invalidArgument(field: "scopes", reason: "at least one scope is needed") }
        if let tenants {
            guard !tenants.isEmpty else { throw VaultError.invalidArgument(field: "tenants", reason: "name at least one tenant") }
            for tenant in tenants { try TenantName.validate(tenant) }
        }
        let id = Hex.encode(SecureRandom.bytes(6))
        var secret = SecureRandom.bytes(32)
        defer { secret.zeroize() }
        let secretText = Hex.encode(secret)
        let hash = try tokenHash(secretText)
        let record = TokenRecord(
            secretHash: hash, tenants: tenants.map { Array(Set($0)).sorted() },
            scopes: TokenScope.encode(scopes), createdAt: Clock.nowMilliseconds())
        let db = db
        try await writer.submit { txn in
            for tenant in tenants ?? [] {
                guard let record = try self.tenantRecord(tenant, in: txn) else { throw VaultError.notFound }
                // A token for a tenant being shredded could only ever be answered -32010.
                guard record.state == .active else { throw VaultError.tenantShredded }
            }
            guard try txn.put(record.encoded(), forKey: Array(id.utf8), in: db.tokens, overwrite: false) else {
                throw VaultError.alreadyExists("token id")
            }
            try self.audit("token.issue", [
                .init("token", id),
                .init("tenants", tenants.map { $0.map { self.auditHash($0, kind: "tenant") }.joined(separator: ",") } ?? "*"),
                .init("scopes", scopes.sorted().map(\.rawValue).joined(separator: ",")),
            ], in: txn)
        }
        return IssuedToken(token: Self.tokenPrefix + id + "_" + secretText, id: id)
    }

    /// Checks a bearer token and returns what it grants.
    ///
    /// - Throws: ``VaultError/unauthenticated`` for a malformed, unknown, revoked or wrong
    ///   token — one error whatever the cause.
    public func authenticate(token: String) throws -> TokenGrant {
        let parts = token.utf8.split(separator: UInt8(ascii: "_"), maxSplits: 2, omittingEmptySubsequences: false)
        guard token.hasPrefix(Self.tokenPrefix), parts.count == 3, parts[1].count == 12, parts[2].count == 64 else {
            recordRefusedAuthentication(tokenID: nil)
            throw VaultError.unauthenticated
        }
        let id = String(decoding: parts[1], as: UTF8.self)
        let hash = try tokenHash(String(decoding: parts[2], as: UTF8.self))
        let record = try environment.read { txn in
            try txn.withValue(in: db.tokens, forKey: Array(id.utf8)) { try TokenRecord(decoding: $0) }
        }
        guard let record, !record.revoked, KeyedHash.constantTimeEqual(record.secretHash, hash) else {
            recordRefusedAuthentication(tokenID: id)
            throw VaultError.unauthenticated
        }
        return TokenGrant(id: id, tenants: record.tenants, scopes: TokenScope.decode(record.scopes))
    }

    /// Records a refused authentication in the audit log, without delaying the refusal.
    /// The id is recorded only when it names a real token (otherwise it is attacker-chosen text).
    private func recordRefusedAuthentication(tokenID: String?) {
        let db = db
        _ = writer.enqueue { [self] txn in
            let known = try tokenID.map { try txn.value(in: db.tokens, forKey: Array($0.utf8)) != nil } ?? false
            try audit("auth.refused", [.init("token", known ? tokenID! : "unknown")], in: txn)
        }
    }

    /// Revokes the token with `id`; it is refused from the next `auth` on, and a grant that
    /// an earlier `auth` returned for it reads as revoked from now on (``isRevoked(_:)``).
    ///
    /// - Throws: ``VaultError/notFound`` for an unknown id.
    public func revokeToken(id: String) async throws {
        let db = db
        try await writer.submit { txn in
            let key = Array(id.utf8)
            guard var record = try txn.withValue(in: db.tokens, forKey: key, { try TokenRecord(decoding: $0) }) else {
                throw VaultError.notFound
            }
            record.revoked = true
            try txn.put(record.encoded(), forKey: key, in: db.tokens)
            try self.audit("token.revoke", [.init("token", id)], in: txn)
        }
        revocations.add(id)
    }

    /// How many tokens were revoked since the store was opened: a holder of grants loads it
    /// before `authenticate`, and asks ``isRevoked(_:)`` only once it has changed. One atomic
    /// load, for a check on every request.
    public var revocationCount: UInt64 { revocations.count }

    /// Whether the token of `grant` was revoked since the store was opened (a grant that
    /// `authenticate` returned before the revocation; after it, `authenticate` refuses).
    public func isRevoked(_ grant: TokenGrant) -> Bool { revocations.contains(grant.id) }

    /// Every token, without secrets, in id order.
    public func tokens() throws -> [TokenInfo] {
        try environment.read { txn in
            try txn.withCursor(db.tokens) { cursor in
                var result: [TokenInfo] = []
                var entry = try cursor.first()
                while let current = entry {
                    let record = try TokenRecord(decoding: current.value)
                    result.append(TokenInfo(
                        id: String(decoding: current.key, as: UTF8.self), tenants: record.tenants,
                        scopes: TokenScope.decode(record.scopes), createdAt: record.createdAt, revoked: record.revoked))
                    entry = try cursor.next()
                }
                return result
            }
        }
    }

    /// The keyed hash of a token secret, under the store's token key.
    private func tokenHash(_ secret: String) throws -> [UInt8] {
        KeyedHash.hash(Array(secret.utf8), key: tokenKey.key, domain: "token")
    }
}
