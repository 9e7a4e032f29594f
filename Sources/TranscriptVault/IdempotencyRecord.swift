/// What an idempotency key remembers: the conversation, the sequence numbers it was given and
/// a keyed hash of the request's content.
struct IdempotencyRecord: Sendable {
    var conversation: [UInt8]
    var firstSeq: UInt64
    var lastSeq: UInt64
    var contentHash: [UInt8]

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 72)
        out.u8(1)
        out.blob(conversation)
        out.u64(firstSeq)
        out.u64(lastSeq)
        out.blob(contentHash)
        return out.bytes
    }

    init(conversation: [UInt8], firstSeq: UInt64, lastSeq: UInt64, contentHash: [UInt8]) {
        self.conversation = conversation
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.contentHash = contentHash
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "idempotency record")
        try reader.version(1)
        conversation = try reader.blob()
        firstSeq = try reader.u64()
        lastSeq = try reader.u64()
        contentHash = try reader.blob()
        try reader.finish()
    }
}
