import Testing
import TranscriptCrypto

@Suite("Secret keys and randomness")
struct SecretKeyTests {
    @Test("copying exactly 32 bytes keeps them")
    func copyingKeepsBytes() throws {
        let source = (0..<32).map { UInt8($0 * 3) }
        var made: SecretKey? = nil
        try source.withUnsafeBytes { made = try SecretKey(copying: $0) }
        guard let key = made.take() else {
            Issue.record("no key was made")
            return
        }
        #expect(bytes(of: key) == source)
    }

    @Test("copying any other length is refused", arguments: [0, 1, 16, 31, 33, 64])
    func copyingRejectsWrongLength(length: Int) {
        let source = [UInt8](repeating: 0x5A, count: length)
        #expect(throws: CryptoError.invalidLength) {
            try source.withUnsafeBytes { _ = try SecretKey(copying: $0) }
        }
    }

    @Test("a key filled in place holds what was written, and an error while filling propagates")
    func filling() throws {
        let key = try SecretKey { $0.copyBytes(from: [UInt8](repeating: 9, count: 32)) }
        #expect(bytes(of: key) == [UInt8](repeating: 9, count: 32))

        struct Refused: Error, Equatable {}
        #expect(throws: Refused()) {
            _ = try SecretKey { _ in throw Refused() }
        }
    }

    @Test("random keys differ and compare equal only to equal bytes")
    func randomAndEquality() throws {
        let first = try SecretKey.random()
        let second = try SecretKey.random()
        let differs = !first.isEqual(to: second)
        #expect(differs)
        let equalToItself = first.isEqual(to: first)
        #expect(equalToItself)
        let copy = try makeKey(bytes(of: first))
        let equalToCopy = copy.isEqual(to: first)
        #expect(equalToCopy)
        var almost = bytes(of: first)
        almost[31] ^= 1
        let changed = try makeKey(almost)
        let differsByOneBit = !changed.isEqual(to: first)
        #expect(differsByOneBit)
        #expect(SecretKey.byteCount == 32)
    }

    @Test("secret bytes keep any length, including zero")
    func secretBytes() throws {
        for length in [0, 1, 33, 4096] {
            let source = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let secret = try SecretBytes(copying: source)
            #expect(secret.count == length)
            #expect(secret.withUnsafeBytes { Array($0) } == source)
        }
    }

    @Test("zeroize overwrites every byte of an array")
    func zeroize() {
        var buffer: [UInt8] = Array("passphrase".utf8)
        buffer.zeroize()
        #expect(buffer == [UInt8](repeating: 0, count: 10))
    }

    @Test("random bytes have the asked length and do not repeat")
    func secureRandomBytes() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(1).count == 1)
        let first = SecureRandom.bytes(32)
        let second = SecureRandom.bytes(32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(first != [UInt8](repeating: 0, count: 32))
    }

    @Test("uniform random integers stay below the bound and cover it")
    func secureRandomUniform() {
        var seen = Set<UInt32>()
        for _ in 0..<2000 {
            let value = SecureRandom.uniform(10)
            #expect(value < 10)
            seen.insert(value)
        }
        #expect(seen.count == 10)
        #expect(SecureRandom.uniform(1) == 0)
    }

    @Test("errors describe themselves without detail an attacker could use")
    func errorDescriptions() {
        #expect(CryptoError.authenticationFailed.description == "authentication failed")
        #expect(CryptoError.invalidLength != CryptoError.authenticationFailed)
        #expect(CryptoError.keyDerivationFailed.code == .keyDerivationFailed)
        #expect(!CryptoError.outOfMemory.description.isEmpty)
    }
}
