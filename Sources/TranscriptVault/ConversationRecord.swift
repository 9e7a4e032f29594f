/// A conversation as stored in the `conversations` database, keyed by
/// `tenant ‖ keyed hash of the conversation id`.
///
/// The DEK is sealed under the tenant KEK of `kekVersion`; the clear identifiers, format and
/// metadata are sealed under the DEK in `sealedMetadata`.
struct ConversationRecord: Sendable {
    static let version: UInt8 = 1
    /// Where the sealed DEK sits in an encoded record (after version, KEK version and length).
    static let sealedDEKRange = 9..<(9 + 72)

    var kekVersion: UInt32
    var sealedDEK: [UInt8]
    var lastSeq: UInt64
    var messageCount: UInt64
    var byteCount: UInt64
    var createdAt: Int64
    var updatedAt: Int64
    /// The keyed hash of the subject id, or empty when the conversation has none.
    var subjectHash: [UInt8]
    /// Days to keep the conversation after its last update, or -1 to follow the tenant.
    var retentionDays: Int32
    var sealedMetadata: [UInt8]

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 160 + sealedMetadata.count)
        out.u8(Self.version)
        out.u32(kekVersion)
        out.blob(sealedDEK)
        out.u64(lastSeq)
        out.u64(messageCount)
        out.u64(byteCount)
        out.i64(createdAt)
        out.i64(updatedAt)
        out.blob(subjectHash)
        out.i32(retentionDays)
        out.blob(sealedMetadata)
        return out.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "conversation record")
        try reader.version(Self.version)
        kekVersion = try reader.u32()
        sealedDEK = try reader.blob()
        lastSeq = try reader.u64()
        messageCount = try reader.u64()
        byteCount = try reader.u64()
        createdAt = try reader.i64()
        updatedAt = try reader.i64()
        subjectHash = try reader.blob()
        retentionDays = try reader.i32()
        sealedMetadata = try reader.blob()
        try reader.finish()
    }

    init(kekVersion: UInt32, sealedDEK: [UInt8], createdAt: Int64, subjectHash: [UInt8], sealedMetadata: [UInt8]) {
        self.kekVersion = kekVersion
        self.sealedDEK = sealedDEK
        self.lastSeq = 0
        self.messageCount = 0
        self.byteCount = 0
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.subjectHash = subjectHash
        self.retentionDays = -1
        self.sealedMetadata = sealedMetadata
    }
}

/// The clear content of a conversation's sealed metadata.
struct ConversationMetadata: Sendable, Equatable {
    var conversationID: String
    var subjectID: String?
    var format: String?
    /// The exact bytes of the client's metadata JSON object, if any.
    var metadata: [UInt8]?

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 64 + (metadata?.count ?? 0))
        out.u8(1)
        out.blob(Array(conversationID.utf8))
        out.u8(subjectID == nil ? 0 : 1); out.blob(Array((subjectID ?? "").utf8))
        out.u8(format == nil ? 0 : 1); out.blob(Array((format ?? "").utf8))
        out.u8(metadata == nil ? 0 : 1); out.blob(metadata ?? [])
        return out.bytes
    }

    init(conversationID: String, subjectID: String?, format: String?, metadata: [UInt8]?) {
        self.conversationID = conversationID
        self.subjectID = subjectID
        self.format = format
        self.metadata = metadata
    }

    init(decoding bytes: [UInt8]) throws {
        var decoded: ConversationMetadata?
        try bytes.withUnsafeBytes { buffer in
            var reader = RecordReader(buffer, kind: "conversation metadata")
            try reader.version(1)
            let id = String(decoding: try reader.blob(), as: UTF8.self)
            let hasSubject = try reader.u8() == 1
            let subject = String(decoding: try reader.blob(), as: UTF8.self)
            let hasFormat = try reader.u8() == 1
            let format = String(decoding: try reader.blob(), as: UTF8.self)
            let hasMetadata = try reader.u8() == 1
            let metadata = try reader.blob()
            try reader.finish()
            decoded = ConversationMetadata(
                conversationID: id, subjectID: hasSubject ? subject : nil,
                format: hasFormat ? format : nil, metadata: hasMetadata ? metadata : nil)
        }
        self = decoded!
    }
}
