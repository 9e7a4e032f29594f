/// The result of `conversation.delete` and `receipt.get`: `{"receipt":{…}}`.
///
/// ```swift
/// RPCResponse.successLine(id: id, result: ReceiptResult(receipt: receipt))
/// ```
public struct ReceiptResult: RPCResult, Equatable {
    /// The receipt.
    public let receipt: Receipt

    /// Creates a result.
    public init(receipt: Receipt) {
        self.receipt = receipt
    }

    /// Decodes the result from a response.
    public init(result: JSONNode, line: [UInt8]) throws(RPCError) {
        let reader = try MemberReader(result: result, line: line)
        receipt = try Receipt(reader.required(reader.nested("receipt"), "receipt"))
    }

    /// Writes `{"receipt":{…}}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.key("receipt")
            receipt.write(to: &writer)
        }
    }
}
