/// What an idempotency key remembers: the conversation, the sequence numbers it was given and
/// a keyed hash of the request's content.
///
/// Format 2 keys the content hash with the conversation's DEK; format 1 (written by earlier
/// versions, still read) keyed it with the tenant's index key.
struct IdempotencyRecord: Sendable {
    /// The record format: records are always written in the current one.
    var format: UInt8 = 2
    var conversation: [UInt8]
    var firstSeq: UInt64
    var lastSeq: UInt64
    var contentHash: [UInt8]

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 72)
        out.u8(format)
        out.blob(conversation)
        out.u64(firstSeq)
        out.u64(lastSeq)
        out.blob(contentHash)
        return out.bytes
    }

    init(conversation: [UInt8], firstSeq: UInt64, lastSeq: UInt64, contentHash: [UInt8], format: UInt8 = 2) {
        self.format = format
        self.conversation = conversation
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.contentHash = contentHash
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "idempotency record")
        format = try reader.version(in: 1...2)
        conversation = try reader.blob()
        firstSeq = try reader.u64()
        lastSeq = try reader.u64()
        contentHash = try reader.blob()
        try reader.finish()
    }
}
