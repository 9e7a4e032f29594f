import Synchronization
internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Creates a tenant with a fresh KEK (version 1) and index key, sealed under the root.
    ///
    /// - Throws: ``VaultError/invalidArgument(field:reason:)`` for a bad name,
    ///   ``VaultError/alreadyExists(_:)`` when the name is taken (also by a shredded tenant).
    public func createTenant(_ name: String) async throws -> Tenant {
        try TenantName.validate(name)
        let storeID = storeID
        let db = db
        let record = try await writer.submit { txn -> TenantRecord in
            // The epoch of this transaction, not of the call: a root rotation may commit between.
            let epoch = try self.rootEpoch(in: txn)
            guard let root = self.roots.withLock({ $0[epoch] }) else {
                throw VaultError.unavailable("the root key was rotated during this request; retry")
            }
            let key = Array(name.utf8)
            if try txn.value(in: db.tenants, forKey: key) != nil { throw VaultError.alreadyExists("tenant \(name)") }
            let numberBytes = try txn.value(in: db.meta, forKey: Schema.MetaKey.nextTenant) ?? .bigEndian(UInt32(1))
            let number = numberBytes.bigEndianInteger(as: UInt32.self)
            let kek = try SecretKey.random()
            let index = try SecretKey.random()
            let record = TenantRecord(
                name: name, number: number, createdAt: Clock.nowMilliseconds(), currentKEK: 1, epoch: epoch,
                keks: [.init(version: 1, sealed: try AEAD.sealKey(kek, using: root.key, authenticating:
                    AssociatedData.kek(storeID: storeID, tenant: number, version: 1, epoch: epoch)))],
                sealedIndexKey: try AEAD.sealKey(index, using: root.key, authenticating:
                    AssociatedData.indexKey(storeID: storeID, tenant: number, epoch: epoch)))
            try txn.put(.bigEndian(number + 1), forKey: Schema.MetaKey.nextTenant, in: db.meta)
            try txn.put(record.encoded(), forKey: key, in: db.tenants)
            try self.audit("tenant.create", [.init("tenant", self.auditHash(name, kind: "tenant"))], in: txn)
            return record
        }
        return Tenant(record)
    }

    /// Every tenant, in name order.
    public func tenants() throws -> [Tenant] {
        try environment.read { txn in
            try txn.withCursor(db.tenants) { cursor in
                var result: [Tenant] = []
                var entry = try cursor.first()
                while let current = entry {
                    result.append(Tenant(try TenantRecord(decoding: current.value)))
                    entry = try cursor.next()
                }
                return result
            }
        }
    }

    /// The tenant named `name`.
    ///
    /// - Throws: ``VaultError/notFound`` when there is none.
    public func tenant(named name: String) throws -> Tenant {
        try TenantName.validate(name)
        return try environment.read { txn in
            guard let record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
            return Tenant(record)
        }
    }

    /// The current root epoch and its key.
    func currentRoot() throws -> (UInt64, KeyBox) {
        try roots.withLock { roots in
            guard let epoch = roots.keys.max(), let box = roots[epoch] else { throw VaultError.internal("no root key") }
            return (epoch, box)
        }
    }

    func tenantRecord(_ name: String, in txn: some ReadableTransaction) throws -> TenantRecord? {
        try txn.withValue(in: db.tenants, forKey: Array(name.utf8)) { try TenantRecord(decoding: $0) }
    }

    /// The caches' eviction counts, taken by a reader before it opens its snapshot: keys it
    /// unwraps from a snapshot older than an eviction are not cached again.
    struct CacheMark {
        var deks: UInt64
        var tenants: UInt64
    }

    func cacheMark() -> CacheMark {
        CacheMark(deks: dekCache.purges, tenants: tenantCache.purges)
    }

    /// The unwrapped keys of an active tenant, from the cache when it still matches `record`.
    ///
    /// - Parameters:
    ///   - mark: for a reader, ``cacheMark()`` taken before its snapshot; `nil` on the writer
    ///     thread, whose transaction is the newest state.
    ///   - caching: whether keys unwrapped here may be cached.
    /// - Throws: ``VaultError/tenantShredded`` for a shredded or scheduled tenant.
    func keys(for record: TenantRecord, since mark: CacheMark? = nil, caching: Bool = true) throws -> TenantKeys {
        guard record.state == .active else { throw VaultError.tenantShredded }
        if let cached = tenantCache.lookup(record.number), cached.matches(record) { return cached }
        guard let root = roots.withLock({ $0[record.epoch] }) else {
            if let newest = roots.withLock({ $0.keys.max() }), record.epoch < newest {
                // This snapshot predates a root rotation that has just committed.
                throw VaultError.unavailable("the root key was rotated during this request; retry")
            }
            throw VaultError.keyringMismatch("tenant keys are sealed under an epoch this keyring lacks")
        }
        let keys = try TenantKeys(record: record, root: root.key, storeID: storeID)
        if caching { tenantCache.insert(keys, for: record.number, unlessPurgedSince: mark?.tenants) }
        return keys
    }
}
