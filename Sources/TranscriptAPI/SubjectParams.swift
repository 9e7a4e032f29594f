/// The params of `subject.erase` and `subject.export`: the data subject.
///
/// ```swift
/// let subject = try request.decodeParams(SubjectParams.self)
/// ```
public struct SubjectParams: RPCParams, Equatable {
    /// The tenant, or `nil` when the token covers exactly one.
    public let tenant: String?
    /// The data subject.
    public let subjectID: String

    /// Creates params for a client.
    public init(tenant: String? = nil, subjectID: String) {
        self.tenant = tenant
        self.subjectID = subjectID
    }

    /// Decodes and checks the params.
    ///
    /// - Throws: ``RPCError`` -32602 naming the field.
    public init(params: JSONObject?, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(params, line: line, allowed: ["tenant", "subject_id"])
        tenant = try reader.tenant()
        subjectID = try reader.required(reader.identifier("subject_id"), "subject_id")
    }

    /// Writes the params object.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            if let tenant { writer.member("tenant", tenant) }
            writer.member("subject_id", subjectID)
        }
    }
}
