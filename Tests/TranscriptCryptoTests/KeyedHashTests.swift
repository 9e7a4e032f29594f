import Testing
import TranscriptCrypto

@Suite("Keyed BLAKE2b")
struct KeyedHashTests {
    /// The key 00 01 02 … 1f.
    static let keyBytes = (0..<32).map { UInt8($0) }

    struct Vector: Sendable, CustomTestStringConvertible {
        var domain: String
        var data: String
        var length: Int
        var expected: String
        var testDescription: String { "\(domain)/\(data.isEmpty ? "<empty>" : data)/\(length)" }
    }

    // Computed independently with Python's hashlib:
    // blake2b(domain.encode() + b"\0" + data, key=bytes(range(32)), digest_size=length).
    // They pin the stored format: changing the framing would orphan every stored index entry.
    static let vectors = [
        Vector(
            domain: "conversation", data: "conv-42", length: 16,
            expected: "8a9cecac1b11a7c083375fd510d24d6f"),
        Vector(
            domain: "conversation", data: "conv-42", length: 32,
            expected: "0c4ca059dada6afa207633396acdb050d99b6be4b66df3431ffc6a68158e6bed"),
        Vector(
            domain: "subject", data: "", length: 64,
            expected: """
                0e9b6cf7fcca744ca0240acccfc63de56690c3f13c3f2a05f22db62e06082423\
                4eea70e698d15e726b81f599f083117aef57758eb8e85c75452fe1643773be1f
                """),
    ]

    @Test("keyed hash matches an independent BLAKE2b implementation", arguments: vectors)
    func knownAnswer(vector: Vector) throws {
        let key = try makeKey(Self.keyBytes)
        let digest = KeyedHash.hash(Array(vector.data.utf8), key: key, domain: vector.domain, length: vector.length)
        #expect(digest.hex == vector.expected)
    }

    @Test("unkeyed checksum matches published BLAKE2b-256 values", arguments: [
        ("", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"),
        ("abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"),
    ])
    func checksumKnownAnswer(input: String, expected: String) {
        #expect(KeyedHash.checksum(Array(input.utf8)).hex == expected)
    }

    @Test("the same input, key, domain and length always give the same hash")
    func deterministic() throws {
        let key = try SecretKey.random()
        let data = Array("subject-17".utf8)
        let first = KeyedHash.hash(data, key: key, domain: "subject")
        let second = KeyedHash.hash(data, key: key, domain: "subject")
        #expect(first == second)
        #expect(first.count == 32)
        let viaBuffer = data.withUnsafeBytes { KeyedHash.hash($0, key: key, domain: "subject") }
        #expect(viaBuffer == first)
    }

    @Test("another key gives another hash")
    func differsByKey() throws {
        let key = try SecretKey.random()
        let other = try SecretKey.random()
        let data = Array("conv-1".utf8)
        #expect(KeyedHash.hash(data, key: key, domain: "conversation") != KeyedHash.hash(data, key: other, domain: "conversation"))
    }

    @Test("another domain gives another hash for the same text")
    func differsByDomain() throws {
        let key = try SecretKey.random()
        let data = Array("same-id".utf8)
        #expect(KeyedHash.hash(data, key: key, domain: "conversation") != KeyedHash.hash(data, key: key, domain: "subject"))
    }

    @Test("the boundary between domain and data is part of the hash")
    func domainBoundaryIsFramed() throws {
        let key = try SecretKey.random()
        #expect(KeyedHash.hash(Array("c".utf8), key: key, domain: "ab") != KeyedHash.hash(Array("bc".utf8), key: key, domain: "a"))
    }

    @Test("lengths 16 to 64 give digests of that size that are not prefixes of each other")
    func differsByLength() throws {
        let key = try SecretKey.random()
        let data = Array("idempotency-key".utf8)
        let short = KeyedHash.hash(data, key: key, domain: "idem", length: 16)
        let medium = KeyedHash.hash(data, key: key, domain: "idem", length: 32)
        let long = KeyedHash.hash(data, key: key, domain: "idem", length: 64)
        #expect(short.count == 16)
        #expect(medium.count == 32)
        #expect(long.count == 64)
        #expect(Array(medium.prefix(16)) != short)
        #expect(Array(long.prefix(32)) != medium)
    }

    @Test("an empty input hashes, and differently from a one-byte input")
    func emptyInput() throws {
        let key = try SecretKey.random()
        let empty = KeyedHash.hash([], key: key, domain: "d")
        let viaBuffer = KeyedHash.hash(UnsafeRawBufferPointer(start: nil, count: 0), key: key, domain: "d")
        #expect(empty == viaBuffer)
        #expect(empty != KeyedHash.hash([0], key: key, domain: "d"))
    }

    @Test("constant-time comparison agrees with ==")
    func constantTimeEqual() {
        #expect(KeyedHash.constantTimeEqual([], []))
        #expect(KeyedHash.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!KeyedHash.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!KeyedHash.constantTimeEqual([0x80, 2, 3], [0, 2, 3]))
        #expect(!KeyedHash.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!KeyedHash.constantTimeEqual([], [0]))
    }
}
