/// The result of `subject.erase`: the receipt and how many conversations were shredded.
///
/// ```swift
/// // {"receipt":{"id":"…","status":"pending","target":"subject"},"conversations":4}
/// ```
public struct EraseResult: RPCResult, Equatable {
    /// The receipt.
    public let receipt: Receipt
    /// How many conversations the subject had.
    public let conversations: UInt64

    /// Creates a result.
    public init(receipt: Receipt, conversations: UInt64) {
        self.receipt = receipt
        self.conversations = conversations
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        receipt = try Receipt(reader.required(reader.nested("receipt"), "receipt"))
        conversations = try reader.required(reader.unsigned("conversations"), "conversations")
    }

    /// Writes `{"receipt":{…},"conversations":n}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("receipt")
            receipt.write(to: &writer)
            writer.member("conversations", conversations)
        }
    }
}
