/// The result of `auth`: what the token may do and the limits that apply.
///
/// `tenants` is `null` on the wire when the token covers every tenant.
///
/// ```swift
/// AuthResult(tenants: ["acme"], scopes: [.append, .read], limits: APILimits())
/// // {"tenants":["acme"],"scopes":["append","read"],"limits":{…}}
/// ```
public struct AuthResult: RPCResult, Equatable {
    /// The tenants the token covers, or `nil` for all of them.
    public let tenants: [String]?
    /// The token's scopes.
    public let scopes: [RPCScope]
    /// The limits of this server.
    public let limits: APILimits

    /// Creates a result.
    public init(tenants: [String]?, scopes: [RPCScope], limits: APILimits) {
        self.tenants = tenants
        self.scopes = scopes
        self.limits = limits
    }

    /// Decodes the result from a response; scopes this client does not know are skipped.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        tenants = try reader.strings("tenants")
        scopes = try reader.required(reader.strings("scopes"), "scopes").compactMap(RPCScope.init(rawValue:))
        limits = try APILimits(reader.required(reader.nested("limits"), "limits"))
    }

    /// Writes `{"tenants":[…]|null,"scopes":[…],"limits":{…}}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("tenants")
            if let tenants {
                writer.array { writer in
                    for tenant in tenants { writer.string(tenant) }
                }
            } else {
                writer.null()
            }
            writer.member("scopes", scopes.map(\.rawValue))
            writer.key("limits")
            limits.write(to: &writer)
        }
    }
}
