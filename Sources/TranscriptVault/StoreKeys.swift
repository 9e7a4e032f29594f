internal import TranscriptCrypto
internal import TranscriptStorage

/// Store-wide keys kept in `meta`, sealed under the root key of the current epoch.
enum StoreKeys {
    static let tokenKeyName = Array("token_key".utf8)

    static func tokenKeyAD(storeID: [UInt8], epoch: UInt64) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.token-key.v1".utf8)); ad.raw(storeID); ad.u64(epoch)
        return ad.bytes
    }

    /// Opens the token key, creating it on first use.
    static func tokenKey(in environment: Environment, root: KeyBox, epoch: UInt64, storeID: [UInt8]) throws -> KeyBox {
        let meta = environment[Schema.meta]
        let ad = tokenKeyAD(storeID: storeID, epoch: epoch)
        if let sealed = try environment.read({ try $0.value(in: meta, forKey: tokenKeyName) }) {
            do {
                return KeyBox(try AEAD.openKey(sealed, using: root.key, authenticating: ad))
            } catch {
                throw VaultError.recordCorrupted("token key")
            }
        }
        let key = try SecretKey.random()
        let sealed = try AEAD.sealKey(key, using: root.key, authenticating: ad)
        try environment.write { txn in try txn.put(sealed, forKey: tokenKeyName, in: meta) }
        return KeyBox(key)
    }
}
