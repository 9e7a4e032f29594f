/// Big-endian encoding of the engine's binary records and keys.
///
/// Every stored value starts with a version byte; readers reject versions they do not know.
struct RecordWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }
    mutating func raw(_ value: UnsafeRawBufferPointer) { bytes.append(contentsOf: value) }
    /// A length-prefixed (u32) byte string.
    mutating func blob(_ value: [UInt8]) { u32(UInt32(value.count)); raw(value) }
}

/// Reads what ``RecordWriter`` wrote; any overrun is a corrupted record.
struct RecordReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0
    let kind: String

    init(_ bytes: UnsafeRawBufferPointer, kind: String) {
        self.bytes = bytes
        self.kind = kind
    }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw VaultError.recordCorrupted(kind) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    mutating func u8() throws -> UInt8 { try take(1)[0] }
    mutating func u32() throws -> UInt32 { try take(4).bigEndianInteger(as: UInt32.self) }
    mutating func u64() throws -> UInt64 { try take(8).bigEndianInteger(as: UInt64.self) }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    mutating func raw(_ count: Int) throws -> [UInt8] { Array(try take(count)) }
    mutating func rawBuffer(_ count: Int) throws -> UnsafeRawBufferPointer { try take(count) }
    mutating func blob() throws -> [UInt8] { try raw(Int(try u32())) }
    /// Everything not read yet.
    mutating func rest() throws -> UnsafeRawBufferPointer { try take(remaining) }

    /// Requires the version byte to be `expected`.
    mutating func version(_ expected: UInt8) throws {
        _ = try version(in: expected...expected)
    }

    /// Reads a format byte that must lie in `accepted`, and returns it.
    mutating func version(in accepted: ClosedRange<UInt8>) throws -> UInt8 {
        let found = try u8()
        guard accepted.contains(found) else { throw VaultError.recordCorrupted(kind) }
        return found
    }

    func finish() throws {
        guard remaining == 0 else { throw VaultError.recordCorrupted(kind) }
    }
}

extension Sequence where Element == UInt8 {
    /// The bytes read as one big-endian unsigned integer, as keys and records store them.
    func bigEndianInteger<T: FixedWidthInteger & UnsignedInteger>(as type: T.Type) -> T {
        reduce(0) { $0 << 8 | T($1) }
    }
}

extension Array where Element == UInt8 {
    static func bigEndian(_ value: UInt32) -> [UInt8] { Swift.withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func bigEndian(_ value: UInt64) -> [UInt8] { Swift.withUnsafeBytes(of: value.bigEndian) { Array($0) } }
}
