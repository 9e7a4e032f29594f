internal import TranscriptCrypto

/// A tenant's unwrapped keys: its index key and the KEK versions in its record.
///
/// Built from a ``TenantRecord`` and the root key of the record's epoch, and cached by tenant
/// number. A cached entry is used only while it matches the record read in the current
/// transaction (same epoch and KEK versions), so a rotation never meets a stale key.
final class TenantKeys: Sendable {
    let number: UInt32
    let epoch: UInt64
    let currentKEK: UInt32
    let versions: [UInt32]
    let indexKey: KeyBox
    let keks: [UInt32: KeyBox]

    init(record: TenantRecord, root: borrowing SecretKey, storeID: [UInt8]) throws {
        number = record.number
        epoch = record.epoch
        currentKEK = record.currentKEK
        versions = record.keks.map(\.version)
        do {
            indexKey = KeyBox(try AEAD.openKey(
                record.sealedIndexKey, using: root,
                authenticating: AssociatedData.indexKey(storeID: storeID, tenant: record.number, epoch: record.epoch)))
            var keks: [UInt32: KeyBox] = [:]
            for kek in record.keks {
                keks[kek.version] = KeyBox(try AEAD.openKey(
                    kek.sealed, using: root,
                    authenticating: AssociatedData.kek(storeID: storeID, tenant: record.number, version: kek.version, epoch: record.epoch)))
            }
            self.keks = keks
        } catch {
            throw VaultError.recordCorrupted("tenant key")
        }
    }

    func matches(_ record: TenantRecord) -> Bool {
        record.number == number && record.epoch == epoch && record.currentKEK == currentKEK
            && record.keks.map(\.version) == versions
    }

    /// The keyed hash standing for a client identifier in keys (16 bytes).
    func hash(_ identifier: String, domain: String) -> [UInt8] {
        KeyedHash.hash(Array(identifier.utf8), key: indexKey.key, domain: domain, length: Schema.idHashLength)
    }
}
