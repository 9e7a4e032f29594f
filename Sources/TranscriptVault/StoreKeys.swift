internal import TranscriptCrypto
internal import TranscriptStorage

/// Store-wide keys kept in `meta`, sealed under the root key of the current epoch.
enum StoreKeys {
    /// The store-wide keys, by their name in `meta`: `token` hashes token secrets, `audit`
    /// chains the audit log.
    static let names = ["token", "audit"]

    static func metaKey(_ name: String) -> [UInt8] { Array("\(name)_key".utf8) }

    static func ad(_ name: String, storeID: [UInt8], epoch: UInt64) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.\(name)-key.v1".utf8)); ad.raw(storeID); ad.u64(epoch)
        return ad.bytes
    }

    /// Opens the store key `name`, creating it on first use.
    static func load(_ name: String, in environment: Environment, root: KeyBox, epoch: UInt64, storeID: [UInt8]) throws -> KeyBox {
        let meta = environment[Schema.meta]
        let ad = ad(name, storeID: storeID, epoch: epoch)
        if let sealed = try environment.read({ try $0.value(in: meta, forKey: metaKey(name)) }) {
            do {
                return KeyBox(try AEAD.openKey(sealed, using: root.key, authenticating: ad))
            } catch {
                throw VaultError.recordCorrupted("\(name) key")
            }
        }
        let key = try SecretKey.random()
        let sealed = try AEAD.sealKey(key, using: root.key, authenticating: ad)
        try environment.write { txn in try txn.put(sealed, forKey: metaKey(name), in: meta) }
        return KeyBox(key)
    }
}
