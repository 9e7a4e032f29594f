import Testing
import TranscriptCrypto

@Suite("AEAD key wrapping")
struct AEADKeyWrapTests {
    static let associatedData = Array("dek|tenant-a|conv-1|kek=1".utf8)

    @Test("sealKey then openKey gives back an equal key")
    func roundTrip() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: Self.associatedData)
        #expect(wrapped.count == AEAD.sealedKeyByteCount)
        let opened = try AEAD.openKey(wrapped, using: kek, authenticating: Self.associatedData)
        let same = opened.isEqual(to: dek)
        #expect(same)
        #expect(bytes(of: opened) == bytes(of: dek))
    }

    @Test("an unwrapped key decrypts what the original key sealed")
    func unwrappedKeyWorks() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let message = try AEAD.seal(Array("hi".utf8), using: dek, authenticating: [])
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: Self.associatedData)
        // Array.withUnsafeBytes cannot return a noncopyable value, so carry it out in an Optional.
        var carried: SecretKey? = nil
        try wrapped.withUnsafeBytes {
            carried = try AEAD.openKey($0, using: kek, authenticating: Self.associatedData)
        }
        guard let opened = carried.take() else {
            Issue.record("openKey returned nothing")
            return
        }
        let clear = try AEAD.open(message, using: opened, authenticating: [])
        #expect(clear == Array("hi".utf8))
    }

    @Test("the wrapped key does not contain the clear key")
    func wrappedKeyHidesKey() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: [])
        let clear = bytes(of: dek)
        #expect(Array(wrapped[AEAD.nonceByteCount..<(AEAD.nonceByteCount + SecretKey.byteCount)]) != clear)
    }

    @Test("openKey fails under another wrapping key")
    func wrongWrappingKeyFails() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let other = try SecretKey.random()
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: Self.associatedData)
        #expect(throws: CryptoError.authenticationFailed) {
            _ = try AEAD.openKey(wrapped, using: other, authenticating: Self.associatedData)
        }
    }

    @Test("openKey fails under other associated data")
    func wrongAssociatedDataFails() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: Self.associatedData)
        #expect(throws: CryptoError.authenticationFailed) {
            _ = try AEAD.openKey(wrapped, using: kek, authenticating: Array("dek|tenant-a|conv-2|kek=1".utf8))
        }
    }

    @Test("openKey fails for any flipped bit")
    func bitFlipsFail() throws {
        let dek = try SecretKey.random()
        let kek = try SecretKey.random()
        let wrapped = try AEAD.sealKey(dek, using: kek, authenticating: [])
        var failures = 0
        for index in wrapped.indices {
            for bit in 0..<8 {
                var tampered = wrapped
                tampered[index] ^= UInt8(1) << UInt8(bit)
                do {
                    _ = try AEAD.openKey(tampered, using: kek, authenticating: [])
                } catch let error as CryptoError where error == .authenticationFailed {
                    failures += 1
                }
            }
        }
        #expect(failures == wrapped.count * 8)
    }

    @Test(
        "openKey refuses boxes of the wrong length, even ones that authenticate",
        arguments: [0, 1, AEAD.overhead, AEAD.sealedKeyByteCount - 1, AEAD.sealedKeyByteCount + 1])
    func wrongLengthFails(length: Int) throws {
        let kek = try SecretKey.random()
        // A genuine box of a payload that is not 32 bytes long.
        let payload = [UInt8](repeating: 7, count: max(0, length - AEAD.overhead))
        let box = length >= AEAD.overhead
            ? try AEAD.seal(payload, using: kek, authenticating: [])
            : [UInt8](repeating: 7, count: length)
        #expect(box.count == length)
        #expect(throws: CryptoError.authenticationFailed) {
            _ = try AEAD.openKey(box, using: kek, authenticating: [])
        }
    }
}
