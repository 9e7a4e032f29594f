/// A tenant as stored in the `tenants` database, keyed by its name.
///
/// Its KEK versions and index key are sealed under the root key of `epoch`.
struct TenantRecord: Sendable {
    enum State: UInt8, Sendable {
        case active = 0
        case shredScheduled = 1
        case shredded = 2
    }

    struct KEKVersion: Sendable {
        var version: UInt32
        var sealed: [UInt8]
    }

    var name: String
    var number: UInt32
    var state: State
    var createdAt: Int64
    var shredAt: Int64
    var retentionDays: Int32
    var currentKEK: UInt32
    var epoch: UInt64
    var keks: [KEKVersion]
    var sealedIndexKey: [UInt8]

    static let version: UInt8 = 1

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 256)
        out.u8(Self.version)
        out.blob(Array(name.utf8))
        out.u32(number)
        out.u8(state.rawValue)
        out.i64(createdAt)
        out.i64(shredAt)
        out.i32(retentionDays)
        out.u32(currentKEK)
        out.u64(epoch)
        out.u32(UInt32(keks.count))
        for kek in keks {
            out.u32(kek.version)
            out.blob(kek.sealed)
        }
        out.blob(sealedIndexKey)
        return out.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RecordReader(bytes, kind: "tenant record")
        try reader.version(Self.version)
        name = String(decoding: try reader.blob(), as: UTF8.self)
        number = try reader.u32()
        guard let state = State(rawValue: try reader.u8()) else { throw VaultError.recordCorrupted("tenant record") }
        self.state = state
        createdAt = try reader.i64()
        shredAt = try reader.i64()
        retentionDays = try reader.i32()
        currentKEK = try reader.u32()
        epoch = try reader.u64()
        let count = try reader.u32()
        guard count < 1 << 16 else { throw VaultError.recordCorrupted("tenant record") }
        keks = try (0..<count).map { _ in KEKVersion(version: try reader.u32(), sealed: try reader.blob()) }
        sealedIndexKey = try reader.blob()
        try reader.finish()
    }

    init(name: String, number: UInt32, createdAt: Int64, currentKEK: UInt32, epoch: UInt64, keks: [KEKVersion], sealedIndexKey: [UInt8]) {
        self.name = name
        self.number = number
        self.state = .active
        self.createdAt = createdAt
        self.shredAt = 0
        self.retentionDays = -1
        self.currentKEK = currentKEK
        self.epoch = epoch
        self.keks = keks
        self.sealedIndexKey = sealedIndexKey
    }
}
