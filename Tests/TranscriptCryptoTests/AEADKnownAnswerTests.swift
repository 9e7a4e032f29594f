import Testing
@testable import TranscriptCrypto

/// XChaCha20-Poly1305-IETF against the published vector of draft-irtf-cfrg-xchacha-03, §A.3.1.
@Suite("AEAD known answers")
struct AEADKnownAnswerTests {
    static let key = [UInt8](hex: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    static let nonce = [UInt8](hex: "404142434445464748494a4b4c4d4e4f5051525354555657")
    static let associatedData = [UInt8](hex: "50515253c0c1c2c3c4c5c6c7")
    static let plaintext = Array(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
            .utf8)
    static let ciphertext = [UInt8](hex: """
        bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
        731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
        2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
        21f9664c97637da9768812f615c68b13b52e
        """)
    static let tag = [UInt8](hex: "c0875924c1c7987947deafd8780acf49")

    @Test("the plaintext is the 114 bytes the draft prints")
    func vectorPlaintextMatchesDraft() {
        let printed = [UInt8](hex: """
            4c616469657320616e642047656e746c656d656e206f662074686520636c6173
            73206f66202739393a204966204920636f756c64206f6666657220796f75206f
            6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73
            637265656e20776f756c642062652069742e
            """)
        #expect(Self.plaintext == printed)
        #expect(Self.ciphertext.count == printed.count)
    }

    @Test("seal with the draft's nonce gives the draft's ciphertext and tag")
    func sealMatchesDraftVector() throws {
        let key = try makeKey(Self.key)
        let box = try Self.plaintext.withUnsafeBytes {
            try AEAD.seal($0, using: key, nonce: Self.nonce, authenticating: Self.associatedData)
        }
        try #require(box.count == AEAD.nonceByteCount + Self.plaintext.count + AEAD.tagByteCount)
        #expect(Array(box[..<AEAD.nonceByteCount]) == Self.nonce)
        let body = Array(box[AEAD.nonceByteCount..<(box.count - AEAD.tagByteCount)])
        let tag = Array(box[(box.count - AEAD.tagByteCount)...])
        #expect(body.hex == Self.ciphertext.hex)
        #expect(tag.hex == Self.tag.hex)
    }

    @Test("open of the draft's box returns the plaintext")
    func openDraftVector() throws {
        let key = try makeKey(Self.key)
        let box = Self.nonce + Self.ciphertext + Self.tag
        let opened = try AEAD.open(box, using: key, authenticating: Self.associatedData)
        #expect(opened == Self.plaintext)
    }

    @Test("the draft's box with a changed tag byte does not open")
    func openDraftVectorWithBadTag() throws {
        let key = try makeKey(Self.key)
        var box = Self.nonce + Self.ciphertext + Self.tag
        box[box.count - 1] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(box, using: key, authenticating: Self.associatedData)
        }
    }

    @Test("a nonce that is not 24 bytes is refused", arguments: [0, 12, 23, 25])
    func sealRejectsWrongNonceLength(length: Int) throws {
        let key = try makeKey(Self.key)
        #expect(throws: CryptoError.invalidLength) {
            try Self.plaintext.withUnsafeBytes {
                try AEAD.seal($0, using: key, nonce: [UInt8](repeating: 0, count: length), authenticating: [])
            }
        }
    }
}
