import Testing
import TranscriptCrypto

@Suite("AEAD seal and open")
struct AEADTests {
    static let associatedData = Array("messages|tenant-a|conv-1|seq=7|kek=3".utf8)

    @Test("seal then open returns the plaintext", arguments: [0, 1, 4 << 20])
    func roundTrip(length: Int) throws {
        let key = try SecretKey.random()
        let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let box = try AEAD.seal(plaintext, using: key, authenticating: Self.associatedData)
        #expect(box.count == length + AEAD.overhead)
        let opened = try AEAD.open(box, using: key, authenticating: Self.associatedData)
        #expect(opened.count == length)
        #expect(opened == plaintext)
    }

    @Test("seal and open through raw buffers agree with the array forms")
    func rawBufferForms() throws {
        let key = try SecretKey.random()
        let plaintext = Array("buffer form".utf8)
        let box = try plaintext.withUnsafeBytes { try AEAD.seal($0, using: key, authenticating: []) }
        let opened = try box.withUnsafeBytes { try AEAD.open($0, using: key, authenticating: []) }
        #expect(opened == plaintext)
        #expect(try AEAD.open(box, using: key, authenticating: []) == plaintext)
    }

    @Test("the ciphertext does not contain the plaintext")
    func ciphertextHidesPlaintext() throws {
        let key = try SecretKey.random()
        let plaintext = Array("a secret transcript line that must never be stored in clear".utf8)
        let box = try AEAD.seal(plaintext, using: key, authenticating: [])
        let needle = Array(plaintext.prefix(16))
        let found = (0...(box.count - needle.count)).contains { Array(box[$0..<($0 + needle.count)]) == needle }
        #expect(!found)
    }

    @Test("two seals of one plaintext use different nonces and differ")
    func noncesAreFresh() throws {
        let key = try SecretKey.random()
        let plaintext = Array("same message".utf8)
        let first = try AEAD.seal(plaintext, using: key, authenticating: Self.associatedData)
        let second = try AEAD.seal(plaintext, using: key, authenticating: Self.associatedData)
        #expect(first.prefix(AEAD.nonceByteCount) != second.prefix(AEAD.nonceByteCount))
        #expect(first != second)
        #expect(try AEAD.open(first, using: key, authenticating: Self.associatedData) == plaintext)
        #expect(try AEAD.open(second, using: key, authenticating: Self.associatedData) == plaintext)
    }

    @Test("flipping any single bit of a box makes open fail")
    func everyBitFlipFails() throws {
        let key = try SecretKey.random()
        let box = try AEAD.seal(Array("hello".utf8), using: key, authenticating: Self.associatedData)
        var opened = 0
        for index in box.indices {
            for bit in 0..<8 {
                var tampered = box
                tampered[index] ^= UInt8(1) << UInt8(bit)
                do {
                    _ = try AEAD.open(tampered, using: key, authenticating: Self.associatedData)
                    opened += 1
                    Issue.record("a box with byte \(index) bit \(bit) flipped opened")
                } catch let error as CryptoError {
                    #expect(error == .authenticationFailed)
                }
            }
        }
        #expect(opened == 0)
    }

    @Test("a box does not open under another key")
    func wrongKeyFails() throws {
        let key = try SecretKey.random()
        let other = try SecretKey.random()
        let box = try AEAD.seal(Array("data".utf8), using: key, authenticating: Self.associatedData)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(box, using: other, authenticating: Self.associatedData)
        }
    }

    @Test(
        "a box does not open under other associated data",
        arguments: [
            Array("messages|tenant-b|conv-1|seq=7|kek=3".utf8),  // another tenant
            Array("messages|tenant-a|conv-1|seq=8|kek=3".utf8),  // another record
            Array("messages|tenant-a|conv-1|seq=7|kek=4".utf8),  // another key version
            Array("messages|tenant-a|conv-1|seq=7|kek=".utf8),  // truncated
            [],
        ])
    func wrongAssociatedDataFails(associatedData: [UInt8]) throws {
        let key = try SecretKey.random()
        let box = try AEAD.seal(Array("data".utf8), using: key, authenticating: Self.associatedData)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(box, using: key, authenticating: associatedData)
        }
    }

    @Test("a truncated box does not open", arguments: [1, AEAD.tagByteCount, 20])
    func truncatedBoxFails(removed: Int) throws {
        let key = try SecretKey.random()
        let box = try AEAD.seal(Array("twenty bytes of text".utf8), using: key, authenticating: [])
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(Array(box.dropLast(removed)), using: key, authenticating: [])
        }
    }

    @Test("a box shorter than nonce and tag is refused", arguments: [0, 1, AEAD.nonceByteCount, AEAD.overhead - 1])
    func tooShortFails(length: Int) throws {
        let key = try SecretKey.random()
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open([UInt8](repeating: 0xAB, count: length), using: key, authenticating: [])
        }
    }

    @Test("an all-zero box of valid length does not open")
    func forgedZeroBoxFails() throws {
        let key = try SecretKey.random()
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open([UInt8](repeating: 0, count: AEAD.overhead + 8), using: key, authenticating: [])
        }
    }

    @Test("the overhead is a 24-byte nonce plus a 16-byte tag")
    func overheadConstants() {
        #expect(AEAD.nonceByteCount == 24)
        #expect(AEAD.tagByteCount == 16)
        #expect(AEAD.overhead == 40)
        #expect(AEAD.sealedKeyByteCount == 72)
    }
}
