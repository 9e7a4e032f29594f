import Testing
import TranscriptCrypto

@Suite("Argon2id passphrase KDF")
struct PassphraseKDFTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var passphrase: [UInt8]
        var operations: UInt64
        var memoryKiB: UInt64
        var expected: String
        var testDescription: String { "t=\(operations) m=\(memoryKiB)KiB \(passphrase.hex)" }
    }

    // Argon2id v1.3, one lane, 32-byte output, salt "ABCDEFGHIJKLMNOP", produced by the
    // reference `argon2` CLI (`echo -n 123 | argon2 ABCDEFGHIJKLMNOP -id -v 13 -k 1024 -t 5`)
    // and checked against libsodium's crypto_pwhash in CosmJS's test suite.
    static let salt = Array("ABCDEFGHIJKLMNOP".utf8)
    static let vectors = [
        Vector(
            passphrase: Array("123".utf8), operations: 5, memoryKiB: 1024,
            expected: "3c5d010180ba0cf5b6b858cba23b318e42d33088983c404598599c3b029ecac6"),
        Vector(
            passphrase: Array("ö".utf8), operations: 5, memoryKiB: 1024,
            expected: "b113fc7863dbc87b7d1366c3b468d3864a2473ce46e90ed3641fff87ada561f7"),
        Vector(
            passphrase: Array("123".utf8), operations: 2, memoryKiB: 8 * 1024,
            expected: "3ee950488d26ce691657b1d753f562139857b61a58f234d6cb0ce84c4cc27328"),
    ]

    @Test("derived keys match the reference Argon2id implementation", arguments: vectors)
    func knownAnswer(vector: Vector) throws {
        let cost = PassphraseKDF.Cost(operations: vector.operations, memory: vector.memoryKiB * 1024)
        let key = try PassphraseKDF.deriveKey(passphrase: SecretBytes(copying: vector.passphrase), salt: Self.salt, cost: cost)
        #expect(bytes(of: key).hex == vector.expected)
    }

    @Test("the same passphrase, salt and cost derive the same key")
    func deterministic() throws {
        let salt = PassphraseKDF.makeSalt()
        let first = try PassphraseKDF.deriveKey(passphrase: secret("hunter2"), salt: salt, cost: .minimum)
        let second = try PassphraseKDF.deriveKey(passphrase: secret("hunter2"), salt: salt, cost: .minimum)
        let same = first.isEqual(to: second)
        #expect(same)
    }

    @Test("another salt derives another key")
    func differsBySalt() throws {
        let first = try PassphraseKDF.deriveKey(passphrase: secret("hunter2"), salt: PassphraseKDF.makeSalt(), cost: .minimum)
        let second = try PassphraseKDF.deriveKey(passphrase: secret("hunter2"), salt: PassphraseKDF.makeSalt(), cost: .minimum)
        let differs = !first.isEqual(to: second)
        #expect(differs)
    }

    @Test("another passphrase derives another key")
    func differsByPassphrase() throws {
        let salt = PassphraseKDF.makeSalt()
        let first = try PassphraseKDF.deriveKey(passphrase: secret("hunter2"), salt: salt, cost: .minimum)
        let second = try PassphraseKDF.deriveKey(passphrase: secret("hunter3"), salt: salt, cost: .minimum)
        let empty = try PassphraseKDF.deriveKey(passphrase: secret(""), salt: salt, cost: .minimum)
        let differsFromOther = !first.isEqual(to: second)
        let differsFromEmpty = !first.isEqual(to: empty)
        #expect(differsFromOther)
        #expect(differsFromEmpty)
    }

    @Test("another cost derives another key")
    func differsByCost() throws {
        let salt = PassphraseKDF.makeSalt()
        let low = try PassphraseKDF.deriveKey(passphrase: secret("pw"), salt: salt, cost: .minimum)
        let more = PassphraseKDF.Cost(operations: PassphraseKDF.Cost.minimum.operations + 1, memory: PassphraseKDF.Cost.minimum.memory)
        let high = try PassphraseKDF.deriveKey(passphrase: secret("pw"), salt: salt, cost: more)
        let differs = !low.isEqual(to: high)
        #expect(differs)
    }

    @Test("a salt that is not 16 bytes is refused", arguments: [0, 8, 15, 17, 32])
    func wrongSaltLength(length: Int) {
        #expect(throws: CryptoError.invalidLength) {
            _ = try PassphraseKDF.deriveKey(passphrase: secret("pw"), salt: [UInt8](repeating: 1, count: length), cost: .minimum)
        }
    }

    @Test("a cost below libsodium's minimum fails with keyDerivationFailed")
    func costTooLow() {
        let tooLittleMemory = PassphraseKDF.Cost(operations: 1, memory: 1024)
        #expect(throws: CryptoError.keyDerivationFailed) {
            _ = try PassphraseKDF.deriveKey(passphrase: secret("pw"), salt: PassphraseKDF.makeSalt(), cost: tooLittleMemory)
        }
    }

    @Test("fresh salts are 16 random bytes")
    func saltsAreFresh() {
        let first = PassphraseKDF.makeSalt()
        let second = PassphraseKDF.makeSalt()
        #expect(first.count == PassphraseKDF.saltByteCount)
        #expect(PassphraseKDF.saltByteCount == 16)
        #expect(first != second)
    }

    @Test("the named costs are ordered and match libsodium's documented limits")
    func namedCosts() {
        #expect(PassphraseKDF.Cost.moderate == PassphraseKDF.Cost(operations: 3, memory: 256 << 20))
        #expect(PassphraseKDF.Cost.interactive == PassphraseKDF.Cost(operations: 2, memory: 64 << 20))
        #expect(PassphraseKDF.Cost.minimum.operations <= PassphraseKDF.Cost.interactive.operations)
        #expect(PassphraseKDF.Cost.minimum.memory < PassphraseKDF.Cost.interactive.memory)
    }
}
