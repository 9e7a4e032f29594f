/// The params of `receipt.get`: the receipt's id.
///
/// ```swift
/// let receipt = try request.decodeParams(ReceiptParams.self)
/// ```
public struct ReceiptParams: RPCParams, Equatable {
    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// The receipt id, as returned by a shred.
    public let id: String

    /// Creates params for a client.
    public init(tenant: String? = nil, id: String) {
        self.tenant = tenant
        self.id = id
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: ["tenant", "id"])
        tenant = try reader.tenant()
        id = try reader.required(reader.identifier("id"), "id")
    }

    /// Writes the params object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            writer.member("id", id)
        }
    }
}
