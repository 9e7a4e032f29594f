public import TranscriptAPI
public import TranscriptVault

/// The admin methods served on `admin.sock` to the owning user, and run in-process by the CLI
/// when no server owns the data directory: one implementation, so that both paths give the
/// same answers.
///
/// Results are JSON objects with the field names documented in `Docs/cli.md`.
public struct AdminDispatcher: Sendable {
    let vault: Vault
    /// Whether it runs inside the CLI on a store no server owns (no scheduler is running).
    let inProcess: Bool
    /// Called with (done, total) during long operations, in-process only.
    let progress: (@Sendable (Int, Int) -> Void)?

    public init(vault: Vault, inProcess: Bool = false, progress: (@Sendable (Int, Int) -> Void)? = nil) {
        self.vault = vault
        self.inProcess = inProcess
        self.progress = progress
    }

    /// The admin method names answered by this file; the `+Maintenance` and `+Keys`
    /// extensions answer theirs.
    static let coreMethods = ["tenant.create", "tenant.list", "tenant.show", "token.issue", "token.list", "token.revoke"]

    /// Runs `method` with `params` and returns the result object's JSON bytes.
    ///
    /// - Throws: ``RPCError`` for unknown methods and bad params; ``VaultError`` from the engine.
    public func run(method: String, params: JSONObject?) async throws -> [UInt8] {
        let reader = AdminParams(params)
        var out = JSONWriter()
        switch method {
        case "tenant.create":
            try reader.allow(["name"])
            let name = try reader.string("name")
            guard TenantName.isValid(name) else { throw RPCError.invalidParams(field: "name", "not a tenant name") }
            let tenant = try await vault.createTenant(name)
            out.object { $0.member("tenant", tenant.name) }
        case "tenant.list":
            try reader.allow([])
            let tenants = try vault.tenants()
            out.object { w in
                w.key("tenants")
                w.array { w in for tenant in tenants { Self.write(tenant, to: &w) } }
            }
        case "tenant.show":
            try reader.allow(["name"])
            let name = try reader.string("name")
            guard TenantName.isValid(name) else { throw RPCError.invalidParams(field: "name", "not a tenant name") }
            Self.write(try vault.tenant(named: name), to: &out)
        case "token.issue":
            try reader.allow(["tenants", "scopes"])
            let tenants = try reader.optionalStrings("tenants")
            var scopes = Set<TokenScope>()
            for name in try reader.strings("scopes") {
                guard let scope = TokenScope(rawValue: name) else {
                    throw RPCError.invalidParams(field: "scopes", "unknown scope \(String(name.prefix(32)))")
                }
                scopes.insert(scope)
            }
            let issued = try await vault.issueToken(tenants: tenants, scopes: scopes)
            out.object { w in
                w.member("id", issued.id)
                w.member("token", issued.token)
            }
        case "token.list":
            try reader.allow([])
            let tokens = try vault.tokens()
            out.object { w in
                w.key("tokens")
                w.array { w in
                    for token in tokens {
                        w.object { w in
                            w.member("id", token.id)
                            w.key("tenants")
                            if let tenants = token.tenants { w.array { w in for t in tenants { w.string(t) } } } else { w.null() }
                            w.member("scopes", token.scopes.sorted().map(\.rawValue))
                            w.member("created_at", timestampMs: token.createdAt)
                            w.member("revoked", token.revoked)
                        }
                    }
                }
            }
        case "token.revoke":
            try reader.allow(["id"])
            let id = try reader.string("id")
            try await vault.revokeToken(id: id)
            out.object { w in
                w.member("id", id)
                w.member("revoked", true)
            }
        default:
            if let result = try await runMaintenance(method: method, params: reader) { return result }
            if let result = try await runKeys(method: method, params: reader) { return result }
            throw RPCError.methodNotFound("no such admin method")
        }
        return out.bytes
    }

    static func write(_ tenant: Tenant, to w: inout JSONWriter) {
        w.object { w in
            w.member("name", tenant.name)
            w.member("state", tenant.state.rawValue)
            w.member("created_at", timestampMs: tenant.createdAt)
            w.member("kek_version", Int(tenant.kekVersion))
            w.member("epoch", Int64(tenant.epoch))
            w.key("retention_days")
            if let days = tenant.retentionDays { w.number(days) } else { w.null() }
        }
    }
}

/// Strict reading of admin params: unknown members and wrong types are `invalid params`.
struct AdminParams {
    let object: JSONObject?

    init(_ object: JSONObject?) { self.object = object }

    func allow(_ names: [String]) throws {
        for member in object?.members ?? [] where !names.contains(member.key) {
            throw RPCError.invalidParams(field: String(member.key.prefix(64)), "unknown parameter")
        }
    }

    func string(_ name: String) throws -> String {
        guard case .string(let value)? = object?[name] else { throw RPCError.invalidParams(field: name, "a string is required") }
        return value
    }

    func strings(_ name: String) throws -> [String] {
        guard let values = try optionalStrings(name) else { throw RPCError.invalidParams(field: name, "an array of strings is required") }
        return values
    }

    func optionalString(_ name: String) throws -> String? {
        switch object?[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw RPCError.invalidParams(field: name, "a string is required")
        }
    }

    func optionalBool(_ name: String) throws -> Bool? {
        switch object?[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw RPCError.invalidParams(field: name, "a boolean is required")
        }
    }

    func optionalInteger(_ name: String) throws -> Int64? {
        switch object?[name] {
        case nil, .null?: return nil
        case .number(let number)?:
            guard let value = number.int64Value else { throw RPCError.invalidParams(field: name, "an integer is required") }
            return value
        default: throw RPCError.invalidParams(field: name, "an integer is required")
        }
    }

    func optionalStrings(_ name: String) throws -> [String]? {
        switch object?[name] {
        case nil, .null?: return nil
        case .array(let nodes)?:
            return try nodes.map { node in
                guard case .string(let value) = node.value else { throw RPCError.invalidParams(field: name, "an array of strings is required") }
                return value
            }
        default: throw RPCError.invalidParams(field: name, "an array of strings is required")
        }
    }
}
