import TranscriptCrypto

/// The bytes both sides write: the same 1 KiB JSON message, the same key layout, the same
/// associated-data size and the same value format as the engine (DESIGN §2-§3).
enum Payload {
    /// The size of every benchmark message.
    static let messageBytes = 1024
    /// The tenant number the raw baseline puts in its keys (the engine's first tenant is 1).
    static let rawTenant: UInt32 = 1

    /// One 1 KiB JSON object, in the shape of a chat message.
    static func message(_ index: Int) -> [UInt8] {
        let head = Array(#"{"role":"user","n":\#(index),"content":""#.utf8)
        let tail = Array(#""}"#.utf8)
        let words = Array("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ".utf8)
        var out = head
        out.reserveCapacity(messageBytes)
        var position = 0
        while out.count < messageBytes - tail.count {
            out.append(words[position % words.count])
            position += 1
        }
        out += tail
        precondition(out.count == messageBytes)
        return out
    }

    /// `tenant ‖ conversation hash` (20 bytes), the conversations key.
    static func conversationKey(tenant: UInt32, conversation: [UInt8]) -> [UInt8] {
        var key = ByteWriter(capacity: 20)
        key.u32(tenant)
        key.raw(conversation)
        return key.bytes
    }

    /// `tenant ‖ conversation hash ‖ big-endian seq` (28 bytes), the messages key.
    static func messageKey(tenant: UInt32, conversation: [UInt8], seq: UInt64) -> [UInt8] {
        var key = ByteWriter(capacity: 28)
        key.u32(tenant)
        key.raw(conversation)
        key.u64(seq)
        return key.bytes
    }

    static let messageLabel = Array("tvault.msg.v1".utf8)

    /// Associated data of the engine's size and shape (50 bytes).
    static func messageAD(tenant: UInt32, conversation: [UInt8], seq: UInt64, createdAt: Int64) -> [UInt8] {
        var ad = ByteWriter(capacity: 48)
        ad.raw(messageLabel)
        ad.u32(tenant)
        ad.raw(conversation)
        ad.u64(seq)
        ad.u64(UInt64(bitPattern: createdAt))
        ad.u8(1)
        return ad.bytes
    }

    /// `version 1 ‖ created_at ‖ sealed box`, the engine's message value.
    static func sealedValue(_ message: [UInt8], dek: borrowing SecretKey, tenant: UInt32, conversation: [UInt8],
                            seq: UInt64, createdAt: Int64) throws -> [UInt8] {
        let sealed = try AEAD.seal(message, using: dek, authenticating: messageAD(
            tenant: tenant, conversation: conversation, seq: seq, createdAt: createdAt))
        var value = ByteWriter(capacity: sealed.count + 9)
        value.u8(1)
        value.u64(UInt64(bitPattern: createdAt))
        value.raw(sealed)
        return value.bytes
    }

    /// A conversation record laid out like the engine's (version, KEK version, sealed DEK,
    /// counters, times, subject hash, retention, sealed metadata): about 200 bytes.
    struct ConversationTemplate: Sendable {
        let sealedDEK: [UInt8]
        let sealedMetadata: [UInt8]
        let createdAt: Int64

        init(conversationID: String, dek: borrowing SecretKey) throws {
            sealedDEK = SecureRandom.bytes(AEAD.sealedKeyByteCount)
            var metadata = ByteWriter(capacity: 64)
            metadata.u8(1)
            metadata.blob(Array(conversationID.utf8))
            metadata.u8(0); metadata.blob([])
            metadata.u8(0); metadata.blob([])
            metadata.u8(0); metadata.blob([])
            sealedMetadata = try AEAD.seal(metadata.bytes, using: dek, authenticating: Array(repeating: 0, count: 35))
            createdAt = WallClock.milliseconds()
        }

        func encoded(lastSeq: UInt64, updatedAt: Int64) -> [UInt8] {
            var out = ByteWriter(capacity: 160 + sealedMetadata.count)
            out.u8(1)
            out.u32(1)
            out.blob(sealedDEK)
            out.u64(lastSeq)
            out.u64(lastSeq)
            out.u64(lastSeq * UInt64(Payload.messageBytes))
            out.u64(UInt64(bitPattern: createdAt))
            out.u64(UInt64(bitPattern: updatedAt))
            out.blob([])
            out.u32(UInt32(bitPattern: -1))
            out.blob(sealedMetadata)
            return out.bytes
        }
    }
}

/// Big-endian byte building, as the engine's record writer does it.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }
    mutating func blob(_ value: [UInt8]) { u32(UInt32(value.count)); raw(value) }
}

/// A small, fast generator for choosing pages (not for anything secret).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
