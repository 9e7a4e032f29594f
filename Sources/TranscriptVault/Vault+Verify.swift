import Synchronization
internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// Opens every record of every tenant in one snapshot and reports what failed.
    ///
    /// Every tenant's KEK versions and index key are opened under the root, every
    /// conversation's DEK under its KEK version (never from the cache), its metadata under the
    /// DEK, and every message under the DEK. Messages without a conversation and conversations
    /// whose message count disagrees with their messages are failures too. Nothing opened is
    /// kept or returned: the report holds counts and positions only.
    ///
    /// ```swift
    /// let report = try vault.verify()
    /// print(report.records, report.failureCount)
    /// ```
    ///
    /// - Parameters:
    ///   - maxDetails: the most failures listed in the report (all are counted).
    ///   - progress: called now and then with conversations and messages examined so far.
    /// - Throws: ``VaultError/unavailable(_:)`` when a root rotation committed during the scan
    ///   (run it again); storage errors.
    public func verify(maxDetails: Int = 1000, progress: ((VerifyProgress) -> Void)? = nil) throws -> VerifyReport {
        try environment.read { txn in
            var scan = VerifyScan(vault: self, maxDetails: maxDetails, progress: progress)
            scan.total = try txn.entryCount(in: db.conversations) + txn.entryCount(in: db.messages)
            try scan.openTenants(txn)
            try scan.openConversations(txn)
            progress?(VerifyProgress(done: scan.done, total: max(scan.total, scan.done)))
            return scan.report
        }
    }
}

/// The state of one verify pass.
private struct VerifyScan {
    /// What verify keeps of a tenant: its name and the keys that opened.
    struct TenantContext {
        var name: String
        var keks: [UInt32: KeyBox]
        /// KEK versions that exist but failed to open.
        var brokenKEKs: Set<UInt32>
        /// A shredded tenant: its keys are gone by design, and its records wait to be purged.
        var isShredded = false
    }

    let vault: Vault
    let maxDetails: Int
    let progress: ((VerifyProgress) -> Void)?
    var report = VerifyReport()
    var tenants: [UInt32: TenantContext] = [:]
    var done = 0
    var total = 0

    init(vault: Vault, maxDetails: Int, progress: ((VerifyProgress) -> Void)?) {
        self.vault = vault
        self.maxDetails = max(maxDetails, 0)
        self.progress = progress
    }

    mutating func opened(_ kind: VerifyReport.Kind) {
        report.counts[kind, default: 0] += 1
    }

    mutating func fail(_ failure: VerifyReport.Failure) {
        report.failureCount += 1
        if report.failures.count < maxDetails { report.failures.append(failure) }
    }

    mutating func tick() {
        done += 1
        if done % 4096 == 0 { progress?(VerifyProgress(done: done, total: max(total, done))) }
    }

    /// Opens every tenant's KEK versions and index key.
    mutating func openTenants(_ txn: ReadTransaction) throws {
        let storeID = vault.storeID
        // The snapshot's root epoch, not the newest in memory: a tenant record behind it holds
        // keys under a root that is gone (a failure to report), while one at it whose root is
        // gone from memory saw a rotation commit during the scan.
        let snapshotEpoch = try vault.rootEpoch(in: txn)
        var records: [(name: String, record: TenantRecord?)] = []
        try txn.withCursor(vault.db.tenants) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                records.append((String(decoding: current.key, as: UTF8.self), try? TenantRecord(decoding: current.value)))
                entry = try cursor.next()
            }
        }
        for (name, record) in records {
            report.tenants += 1
            guard let record else {
                fail(.init(tenant: name, kind: .tenant, check: "unreadable"))
                continue
            }
            var context = TenantContext(name: name, keks: [:], brokenKEKs: [], isShredded: record.state == .shredded)
            defer { tenants[record.number] = context }
            if context.isShredded {
                // A shredded tenant holds no key: one that does is a record changed since, and
                // its records are not to be skipped silently.
                if !record.keks.isEmpty || !record.sealedIndexKey.isEmpty {
                    fail(.init(tenant: name, kind: .tenant, check: "shredded_with_keys"))
                }
                continue
            }
            guard let root = vault.roots.withLock({ $0[record.epoch] }) else {
                if record.epoch >= snapshotEpoch, let newest = vault.roots.withLock({ $0.keys.max() }), record.epoch < newest {
                    throw VaultError.unavailable("the root key was rotated during verify; run it again")
                }
                for kek in record.keks {
                    opened(.kek)
                    context.brokenKEKs.insert(kek.version)
                    fail(.init(tenant: name, kind: .kek, kekVersion: kek.version, check: "missing_epoch"))
                }
                opened(.indexKey)
                fail(.init(tenant: name, kind: .indexKey, check: "missing_epoch"))
                continue
            }
            for kek in record.keks {
                opened(.kek)
                do {
                    context.keks[kek.version] = KeyBox(try AEAD.openKey(kek.sealed, using: root.key, authenticating:
                        AssociatedData.kek(storeID: storeID, tenant: record.number, version: kek.version, epoch: record.epoch)))
                } catch {
                    context.brokenKEKs.insert(kek.version)
                    fail(.init(tenant: name, kind: .kek, kekVersion: kek.version, check: "authentication"))
                }
            }
            opened(.indexKey)
            do {
                _ = try AEAD.openKey(record.sealedIndexKey, using: root.key, authenticating:
                    AssociatedData.indexKey(storeID: storeID, tenant: record.number, epoch: record.epoch))
            } catch {
                fail(.init(tenant: name, kind: .indexKey, check: "authentication"))
            }
        }
    }

    /// Walks conversations and messages together: both are ordered by
    /// `tenant ‖ conversation`, so each conversation's messages follow its position, and a
    /// message met before its conversation's position has no conversation.
    mutating func openConversations(_ txn: ReadTransaction) throws {
        let keyLength = 4 + Schema.idHashLength
        try txn.withCursor(vault.db.conversations) { conversations in
            try txn.withCursor(vault.db.messages) { messages in
                var message = try messages.first()
                var entry = try conversations.first()
                while let current = entry {
                    let key = Array(current.key)
                    while let orphan = message, !orphan.key.hasPrefix(key), Self.compare(orphan.key, key) < 0 {
                        failOrphan(orphan.key)
                        message = try messages.next()
                    }
                    let owner = key.count == keyLength ? tenants[Self.tenantNumber(key)] : nil
                    let conversation = openConversation(key: key, value: current.value, owner: owner)
                    var count: UInt64 = 0
                    while let stored = message, stored.key.hasPrefix(key) {
                        count += 1
                        openMessage(stored, key: key, owner: owner, dek: conversation.dek)
                        message = try messages.next()
                    }
                    if let expected = conversation.messageCount, expected != count {
                        fail(.init(tenant: owner?.name, kind: .conversation, conversation: Self.hex(key), check: "count"))
                    }
                    entry = try conversations.next()
                }
                while let orphan = message {
                    failOrphan(orphan.key)
                    message = try messages.next()
                }
            }
        }
    }

    /// Opens a conversation's record, DEK and metadata; returns the DEK (if it opened) and the
    /// message count the record claims (if it decoded).
    mutating func openConversation(key: [UInt8], value: UnsafeRawBufferPointer, owner: TenantContext?) -> (dek: KeyBox?, messageCount: UInt64?) {
        tick()
        if owner?.isShredded == true {
            report.skipped += 1
            return (nil, nil)
        }
        opened(.conversation)
        let position = Self.hex(key)
        guard key.count == 4 + Schema.idHashLength, let record = try? ConversationRecord(decoding: value) else {
            fail(.init(tenant: owner?.name, kind: .conversation, conversation: position, check: "unreadable"))
            return (nil, nil)
        }
        guard let owner else {
            fail(.init(tenant: nil, kind: .conversation, conversation: position, check: "orphan"))
            return (nil, record.messageCount)
        }
        let number = Self.tenantNumber(key)
        let ck = Array(key[4...])
        opened(.dek)
        opened(.metadata)
        guard let kek = owner.keks[record.kekVersion] else {
            let check = owner.brokenKEKs.contains(record.kekVersion) ? "key_unavailable" : "missing_kek"
            fail(.init(tenant: owner.name, kind: .dek, conversation: position, kekVersion: record.kekVersion, check: check))
            fail(.init(tenant: owner.name, kind: .metadata, conversation: position, check: "key_unavailable"))
            return (nil, record.messageCount)
        }
        let dek: KeyBox
        do {
            dek = KeyBox(try AEAD.openKey(record.sealedDEK, using: kek.key, authenticating: AssociatedData.dek(
                storeID: vault.storeID, tenant: number, conversation: ck, kekVersion: record.kekVersion)))
        } catch {
            fail(.init(tenant: owner.name, kind: .dek, conversation: position, check: "authentication"))
            fail(.init(tenant: owner.name, kind: .metadata, conversation: position, check: "key_unavailable"))
            return (nil, record.messageCount)
        }
        do {
            _ = try vault.openMetadata(record, dek: dek, tenant: number, conversation: ck)
        } catch {
            fail(.init(tenant: owner.name, kind: .metadata, conversation: position, check: "authentication"))
        }
        return (dek, record.messageCount)
    }

    mutating func openMessage(_ entry: Cursor.Entry, key: [UInt8], owner: TenantContext?, dek: KeyBox?) {
        tick()
        if owner?.isShredded == true {
            report.skipped += 1
            return
        }
        opened(.message)
        let seq = entry.key.count == key.count + 8 ? entry.key[key.count...].bigEndianInteger(as: UInt64.self) : nil
        guard let owner else {
            fail(.init(tenant: nil, kind: .message, conversation: Self.hex(key), seq: seq, check: "orphan"))
            return
        }
        guard let dek else {
            fail(.init(tenant: owner.name, kind: .message, conversation: Self.hex(key), seq: seq, check: "key_unavailable"))
            return
        }
        do {
            _ = try vault.openMessage(entry, tenant: Self.tenantNumber(key), conversation: Array(key[4...]), dek: dek)
        } catch {
            fail(.init(tenant: owner.name, kind: .message, conversation: Self.hex(key), seq: seq,
                       check: seq == nil ? "unreadable" : "authentication"))
        }
    }

    mutating func failOrphan(_ key: UnsafeRawBufferPointer) {
        tick()
        let length = 4 + Schema.idHashLength
        guard key.count == length + 8 else {
            opened(.message)
            fail(.init(tenant: nil, kind: .message, check: "orphan"))
            return
        }
        let prefix = Array(key[..<length])
        if tenants[Self.tenantNumber(prefix)]?.isShredded == true {
            report.skipped += 1
            return
        }
        opened(.message)
        let seq = key[length...].bigEndianInteger(as: UInt64.self)
        fail(.init(tenant: tenants[Self.tenantNumber(prefix)]?.name, kind: .message, conversation: Self.hex(prefix), seq: seq, check: "orphan"))
    }

    static func tenantNumber(_ key: [UInt8]) -> UInt32 {
        key.prefix(4).bigEndianInteger(as: UInt32.self)
    }

    /// The conversation part of a conversation key, in hex (the tenant shows by name).
    static func hex(_ key: [UInt8]) -> String {
        Hex.encode(key.dropFirst(4))
    }

    /// Byte-wise order, as LMDB's default comparison.
    static func compare(_ lhs: UnsafeRawBufferPointer, _ rhs: [UInt8]) -> Int {
        for index in 0..<min(lhs.count, rhs.count) where lhs[index] != rhs[index] {
            return lhs[index] < rhs[index] ? -1 : 1
        }
        return lhs.count == rhs.count ? 0 : (lhs.count < rhs.count ? -1 : 1)
    }
}
