import Synchronization
internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Rotates the root key: the two-phase keyring protocol of the design.
    ///
    /// 1. The keyring gains the next epoch's root (atomic replace).
    /// 2. One transaction re-wraps every tenant's KEKs and index key, and the store keys, under
    ///    the new root and moves `meta`'s epoch.
    /// 3. The keyring drops the old epoch (atomic replace; the old file's blocks are zeroed).
    ///
    /// A crash at any step leaves a store that opens with every key: before step 2 commits the
    /// store is still on the old epoch, after it on the new one, and opening cleans the keyring.
    ///
    /// - Returns: the new epoch.
    @discardableResult
    public func rotateRoot() async throws -> UInt64 {
        try await keyLock.run { try await self.rotateRootLocked(reason: "manual") }
    }

    func rotateRootLocked(reason: String) async throws -> UInt64 {
        let directory = configuration.dataDirectory
        let (epoch, oldRoot) = try currentRoot()
        let next = epoch + 1
        let newRoot = KeyBox(try SecretKey.random())
        var keyring = try Keyring.load(path: directory.keyring)
        keyring.entries = keyring.entries.filter { $0.epoch == epoch }
        keyring.entries.append(try keyring.sealing(root: newRoot.key, epoch: next, unlockKey: unlockKey.key))
        try keyring.save(path: directory.keyring, faultPrefix: "root.keyring-both")
        FaultInjection.point("root.keyring-both")

        let storeID = storeID
        let db = db
        // Held before the commit, so that a transaction queued right behind it (a tenant being
        // created) finds the root of the epoch it commits.
        roots.withLock { $0[next] = newRoot }
        do {
            try await writer.submit { [self] txn in
                var tenants: [(key: [UInt8], record: TenantRecord)] = []
                try txn.withCursor(db.tenants) { cursor in
                    var entry = try cursor.first()
                    while let current = entry {
                        tenants.append((Array(current.key), try TenantRecord(decoding: current.value)))
                        entry = try cursor.next()
                    }
                }
                for (key, var record) in tenants where record.epoch != next {
                    guard record.epoch == epoch else { throw VaultError.recordCorrupted("tenant epoch") }
                    record.keks = try record.keks.map { kek in
                        let clear = try Self.reseal(kek.sealed, from: oldRoot, to: newRoot,
                            oldAD: AssociatedData.kek(storeID: storeID, tenant: record.number, version: kek.version, epoch: epoch),
                            newAD: AssociatedData.kek(storeID: storeID, tenant: record.number, version: kek.version, epoch: next))
                        return .init(version: kek.version, sealed: clear)
                    }
                    if !record.sealedIndexKey.isEmpty {
                        record.sealedIndexKey = try Self.reseal(record.sealedIndexKey, from: oldRoot, to: newRoot,
                            oldAD: AssociatedData.indexKey(storeID: storeID, tenant: record.number, epoch: epoch),
                            newAD: AssociatedData.indexKey(storeID: storeID, tenant: record.number, epoch: next))
                    }
                    record.epoch = next
                    try txn.put(record.encoded(), forKey: key, in: db.tenants)
                }
                for name in StoreKeys.names {
                    guard let sealed = try txn.value(in: db.meta, forKey: StoreKeys.metaKey(name)) else { continue }
                    try txn.put(try Self.reseal(sealed, from: oldRoot, to: newRoot,
                        oldAD: StoreKeys.ad(name, storeID: storeID, epoch: epoch),
                        newAD: StoreKeys.ad(name, storeID: storeID, epoch: next)), forKey: StoreKeys.metaKey(name), in: db.meta)
                }
                try txn.put(.bigEndian(next), forKey: Schema.MetaKey.rootEpoch, in: db.meta)
                try audit("key.rotate_root", [.init("epoch", "\(next)"), .init("reason", reason)], in: txn)
            }
        } catch {
            roots.withLock { _ = $0.removeValue(forKey: next) }
            throw error
        }
        roots.withLock { $0 = [next: newRoot] }
        FaultInjection.point("root.committed")

        // The old root may go only once the store's new epoch is durable in `data.mdb` itself:
        // without the redo log (no durability), a batch the writer still carries dies with the
        // process, and a commit made with MDB_NOSYNC dies with a power loss, while the keyring
        // dropping the old root is flushed (the store would then be sealed under a root that
        // no longer exists). With the log it is a checkpoint, once per rotation.
        try environment.sync()
        keyring.entries = keyring.entries.filter { $0.epoch == next }
        try keyring.save(path: directory.keyring, faultPrefix: "root.keyring-final")
        FaultInjection.point("root.keyring-final")
        return next
    }

    /// Opens a sealed key under one root and seals it under another, never leaving guarded memory.
    static func reseal(_ sealed: [UInt8], from old: KeyBox, to new: KeyBox, oldAD: [UInt8], newAD: [UInt8]) throws -> [UInt8] {
        let key: SecretKey
        do {
            key = try AEAD.openKey(sealed, using: old.key, authenticating: oldAD)
        } catch {
            throw VaultError.recordCorrupted("sealed key")
        }
        return try AEAD.sealKey(key, using: new.key, authenticating: newAD)
    }

    /// The root epoch recorded in `meta`.
    func rootEpoch(in txn: some ReadableTransaction) throws -> UInt64 {
        guard let bytes = try txn.value(in: db.meta, forKey: Schema.MetaKey.rootEpoch), bytes.count == 8 else {
            throw VaultError.recordCorrupted("store metadata")
        }
        return bytes.bigEndianInteger(as: UInt64.self)
    }

    /// The current root epoch.
    public var epoch: UInt64 { (try? currentRoot().0) ?? 0 }
}
