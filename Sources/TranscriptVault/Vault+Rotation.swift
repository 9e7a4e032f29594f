import Synchronization
internal import TranscriptCrypto
internal import TranscriptStorage

/// The outcome of a tenant KEK rotation.
public struct KEKRotation: Sendable, Equatable {
    /// The tenant.
    public var tenant: String
    /// The KEK version every DEK is now wrapped under.
    public var version: UInt32
    /// DEKs re-wrapped by this call.
    public var rewrapped: Int
    /// KEK versions destroyed.
    public var destroyed: [UInt32]
}

extension Vault {
    /// DEKs re-wrapped per transaction: large enough that fsyncs do not dominate a rotation,
    /// small enough that appends wait at most some tens of milliseconds behind a batch.
    public static let rewrapBatchSize = 20_000

    /// Rotates a tenant's KEK while the store keeps serving: a new version becomes current,
    /// every DEK is re-wrapped under it in bounded batches (appends and reads go on between
    /// them), and the old versions are destroyed in the transaction of the last batch.
    ///
    /// A rotation interrupted by a crash is finished by the next call (or by
    /// ``resumeRotations()``), without creating yet another version.
    ///
    /// ```swift
    /// let rotation = try await vault.rotateTenantKEK("acme") { done, total in print("\(done)/\(total)") }
    /// ```
    ///
    /// - Parameters:
    ///   - batchSize: DEKs re-wrapped per transaction.
    ///   - progress: called after each batch with DEKs done and the total to do.
    /// - Throws: ``VaultError/notFound``, ``VaultError/tenantShredded``.
    public func rotateTenantKEK(
        _ name: String, batchSize: Int = rewrapBatchSize, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> KEKRotation {
        try TenantName.validate(name)
        return try await keyLock.run { try await self.rotateTenantKEKLocked(name, batchSize: batchSize, progress: progress) }
    }

    func rotateTenantKEKLocked(_ name: String, batchSize: Int, progress: (@Sendable (Int, Int) -> Void)?) async throws -> KEKRotation {
        let storeID = storeID
        let db = db
        // Phase 1: a new current version, unless a rotation is already under way.
        let (number, current) = try await writer.submit { [self] txn -> (UInt32, UInt32) in
            guard var record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
            guard record.state != .shredded else { throw VaultError.tenantShredded }
            if record.keks.count > 1 { return (record.number, record.currentKEK) }
            guard let root = roots.withLock({ $0[record.epoch] }) else { throw VaultError.keyringMismatch("missing root epoch") }
            let version = (record.keks.map(\.version).max() ?? 0) + 1
            let kek = try SecretKey.random()
            record.keks.append(.init(version: version, sealed: try AEAD.sealKey(kek, using: root.key, authenticating:
                AssociatedData.kek(storeID: storeID, tenant: record.number, version: version, epoch: record.epoch))))
            record.currentKEK = version
            try txn.put(record.encoded(), forKey: Array(name.utf8), in: db.tenants)
            try audit("key.rotate.start", [.init("tenant", auditHash(name, kind: "tenant")), .init("version", "\(version)")], in: txn)
            return (record.number, version)
        }
        FaultInjection.point("kek.started")
        // Counting costs a scan of the tenant: only done when someone watches the progress.
        let total = progress == nil ? 0 : try countConversations(tenant: number, notUsing: current)
        progress?(0, total)
        var done = 0
        var position = Array.bigEndian(number)
        var destroyed: [UInt32] = []
        while true {
            let start = position
            let batch = try await writer.submit { [self] txn -> (count: Int, next: [UInt8]?, destroyed: [UInt32]) in
                try rewrapBatch(tenant: name, number: number, from: start, limit: batchSize, in: txn)
            }
            done += batch.count
            progress?(done, total)
            FaultInjection.point("kek.batch")
            guard let next = batch.next else {
                destroyed = batch.destroyed
                break
            }
            position = next
        }
        // The cached keys hold the destroyed versions: dropped, so that they are released (and
        // zeroed) now rather than whenever the tenant is used next.
        if !destroyed.isEmpty { tenantCache.remove(number) }
        return KEKRotation(tenant: name, version: current, rewrapped: done, destroyed: destroyed)
    }

    /// Re-wraps up to `limit` DEKs not under the current KEK, from `start` on. When the scan
    /// reaches the tenant's last conversation, the old versions are destroyed in this same
    /// transaction.
    private func rewrapBatch(tenant name: String, number: UInt32, from start: [UInt8], limit: Int, in txn: WriteTransaction)
        throws -> (count: Int, next: [UInt8]?, destroyed: [UInt32])
    {
        guard var record = try tenantRecord(name, in: txn), record.number == number else { throw VaultError.notFound }
        guard record.state != .shredded else { throw VaultError.tenantShredded }
        let keys = try keys(forAnyState: record)
        let currentVersion = record.currentKEK
        guard let newKEK = keys.keks[currentVersion] else { throw VaultError.recordCorrupted("tenant record") }
        let prefix = Array.bigEndian(number)
        let rewrapper = try KeyRewrapper()
        let placeholder = [UInt8](repeating: 0, count: Schema.idHashLength)
        var oldAD = AssociatedData.dek(storeID: storeID, tenant: number, conversation: placeholder, kekVersion: 0)
        var newAD = AssociatedData.dek(storeID: storeID, tenant: number, conversation: placeholder, kekVersion: currentVersion)
        var updates: [(key: [UInt8], value: [UInt8])] = []
        var next: [UInt8]?
        try txn.withCursor(db.conversations) { cursor in
            var entry = try cursor.seek(atLeast: start)
            while let current = entry, current.key.hasPrefix(prefix) {
                if updates.count == limit {
                    next = Array(current.key)
                    return
                }
                // A conversation record starts `version ‖ KEK version ‖ u32 length ‖ sealed DEK`:
                // re-wrap by patching those bytes, without decoding the rest.
                let value = current.value
                guard value.count >= ConversationRecord.sealedDEKRange.upperBound, value[0] == ConversationRecord.version,
                      value[5..<9].bigEndianInteger(as: UInt32.self) == UInt32(AEAD.sealedKeyByteCount)
                else { throw VaultError.recordCorrupted("conversation record") }
                let version = value[1..<5].bigEndianInteger(as: UInt32.self)
                if version != currentVersion {
                    guard let oldKEK = keys.keks[version] else { throw VaultError.recordCorrupted("conversation key version") }
                    // The two associated data differ only in the conversation and version: patch
                    // them into one template per batch instead of building arrays per DEK.
                    let ck = UnsafeRawBufferPointer(rebasing: current.key[4...])
                    oldAD.replaceSubrange(AssociatedData.dekConversationRange, with: ck)
                    newAD.replaceSubrange(AssociatedData.dekConversationRange, with: ck)
                    oldAD.replaceSubrange(AssociatedData.dekVersionRange, with: Array.bigEndian(version))
                    var patched = Array(value)
                    patched.replaceSubrange(1..<5, with: Array.bigEndian(currentVersion))
                    do {
                        try patched.withUnsafeMutableBytes { record in
                            let slot = UnsafeMutableRawBufferPointer(rebasing: record[ConversationRecord.sealedDEKRange])
                            try rewrapper.rewrap(UnsafeRawBufferPointer(slot), from: oldKEK.key, oldAD: oldAD,
                                                 to: newKEK.key, newAD: newAD, into: slot)
                        }
                    } catch {
                        throw VaultError.recordCorrupted("conversation key")
                    }
                    updates.append((Array(current.key), patched))
                }
                entry = try cursor.next()
            }
        }
        for update in updates {
            try txn.put(update.value, forKey: update.key, in: db.conversations)
        }
        var destroyed: [UInt32] = []
        if next == nil {
            destroyed = record.keks.map(\.version).filter { $0 != currentVersion }
            if !destroyed.isEmpty {
                record.keks.removeAll { $0.version != currentVersion }
                try txn.put(record.encoded(), forKey: Array(name.utf8), in: db.tenants)
                try audit("key.rotate.finish", [
                    .init("tenant", auditHash(name, kind: "tenant")), .init("version", "\(currentVersion)"),
                    .init("destroyed", destroyed.map(String.init).joined(separator: ",")),
                ], in: txn)
            }
        }
        return (updates.count, next, destroyed)
    }

    private func countConversations(tenant number: UInt32, notUsing version: UInt32) throws -> Int {
        try environment.read { txn in
            try txn.withCursor(db.conversations) { cursor in
                let prefix = Array.bigEndian(number)
                var count = 0
                var entry = try cursor.seek(atLeast: prefix)
                while let current = entry, current.key.hasPrefix(prefix) {
                    let stored = current.value.count >= 5 ? current.value[1..<5].bigEndianInteger(as: UInt32.self) : 0
                    if stored != version { count += 1 }
                    entry = try cursor.next()
                }
                return count
            }
        }
    }

    /// Finishes every KEK rotation a crash interrupted (tenants holding more than one version).
    ///
    /// - Returns: the rotations finished.
    @discardableResult
    public func resumeRotations() async throws -> [KEKRotation] {
        let unfinished = try environment.read { txn in
            try txn.withCursor(db.tenants) { cursor in
                var names: [String] = []
                var entry = try cursor.first()
                while let current = entry {
                    let record = try TenantRecord(decoding: current.value)
                    if record.state != .shredded && record.keks.count > 1 { names.append(record.name) }
                    entry = try cursor.next()
                }
                return names
            }
        }
        var done: [KEKRotation] = []
        for name in unfinished { done.append(try await rotateTenantKEK(name)) }
        return done
    }

    /// Tenant keys for a tenant in any state but shredded (rotation and cancelled shreds need
    /// the keys of a tenant scheduled for shredding).
    func keys(forAnyState record: TenantRecord) throws -> TenantKeys {
        var active = record
        active.state = .active
        // Not cached: the tenant may be scheduled for shredding, and a rotation's versions change.
        return try keys(for: active, caching: false)
    }
}
