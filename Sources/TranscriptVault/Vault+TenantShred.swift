import Synchronization
internal import TranscriptCrypto
internal import TranscriptStorage

extension Vault {
    /// The default waiting period before a tenant is shredded: 7 days, as AWS KMS waits
    /// before deleting a key.
    public static let defaultTenantShredDelay: Int64 = 7 * 24 * 3600 * 1000
    /// The longest waiting period: 100 years.
    public static let maxTenantShredDelay: Int64 = 36_500 * 24 * 3600 * 1000

    /// Schedules a whole tenant for shredding after `delayMilliseconds` (0: now). From the
    /// moment it is scheduled, every request for the tenant answers `tenantShredded`; until
    /// the delay has passed, ``cancelTenantShred(_:)`` restores it untouched.
    ///
    /// - Returns: when the shred will happen, and the receipt when it happened at once.
    public func scheduleTenantShred(_ name: String, delayMilliseconds: Int64 = defaultTenantShredDelay) async throws -> (shredAt: Int64, receipt: Receipt?) {
        try TenantName.validate(name)
        guard (0...Self.maxTenantShredDelay).contains(delayMilliseconds) else {
            throw VaultError.invalidArgument(field: "delay", reason: "must be between 0 and \(Self.maxTenantShredDelay) ms (100 years)")
        }
        let shredAt = Clock.nowMilliseconds() + delayMilliseconds
        try await writer.submit { [self] txn in
            guard var record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
            guard record.state == .active else { throw VaultError.tenantShredded }
            record.state = .shredScheduled
            record.shredAt = shredAt
            try txn.put(record.encoded(), forKey: Array(name.utf8), in: db.tenants)
            try audit("shred.tenant.schedule", [
                .init("tenant", auditHash(name, kind: "tenant")), .init("shred_at", "\(shredAt)"),
            ], in: txn)
        }
        if delayMilliseconds == 0 {
            return (shredAt, try await shredTenantNow(name))
        }
        return (shredAt, nil)
    }

    /// Cancels a scheduled tenant shred that has not happened yet.
    ///
    /// - Throws: ``VaultError/notFound``; ``VaultError/tenantShredded`` when it already happened;
    ///   ``VaultError/invalidArgument(field:reason:)`` when none is scheduled.
    public func cancelTenantShred(_ name: String) async throws {
        try TenantName.validate(name)
        try await writer.submit { [self] txn in
            guard var record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
            switch record.state {
            case .shredded: throw VaultError.tenantShredded
            case .active: throw VaultError.invalidArgument(field: "tenant", reason: "no shred is scheduled")
            case .shredScheduled: break
            }
            record.state = .active
            record.shredAt = 0
            try txn.put(record.encoded(), forKey: Array(name.utf8), in: db.tenants)
            try audit("shred.tenant.cancel", [.init("tenant", auditHash(name, kind: "tenant"))], in: txn)
        }
    }

    /// Shreds every tenant whose waiting period is over. Run by the server's scheduler.
    ///
    /// - Parameter now: the time to judge by (ms since the epoch); the clock when `nil`.
    @discardableResult
    public func shredDueTenants(now: Int64? = nil) async throws -> [Receipt] {
        let now = now ?? Clock.nowMilliseconds()
        var receipts: [Receipt] = []
        for record in try tenantRecords() where record.state == .shredScheduled && record.shredAt <= now {
            receipts.append(try await shredTenantNow(record.name))
        }
        try await purgeShreddedTenants()
        return receipts
    }

    /// The crypto-shred of a tenant: its KEKs and index key are deleted in one transaction
    /// (nothing of it can be decrypted from then on), then its records are deleted in bounded
    /// batches. The erasure epoch that follows destroys the root that wrapped its KEKs.
    private func shredTenantNow(_ name: String) async throws -> Receipt {
        let receipt = try await writer.submit { [self] txn -> Receipt in
            guard var record = try tenantRecord(name, in: txn) else { throw VaultError.notFound }
            guard record.state == .shredScheduled else { throw VaultError.tenantShredded }
            let conversations = try countPrefix(.bigEndian(record.number), in: db.conversations, txn: txn)
            let receipt = try issueReceipt(for: record, target: .tenant, conversations: conversations, in: txn)
            record.state = .shredded
            record.keks = []
            record.sealedIndexKey = []
            try txn.put(record.encoded(), forKey: Array(name.utf8), in: db.tenants)
            try audit("shred.tenant", [.init("tenant", auditHash(name, kind: "tenant")), .init("receipt", receipt.id)], in: txn)
            return receipt
        }
        FaultInjection.point("tenant.keys-deleted")
        if let number = try? environment.read({ try tenantRecord(name, in: $0)?.number }) {
            dekCache.removeAll(withPrefix: .bigEndian(number))
            tenantCache.remove(number)
        }
        erasureRequested()
        try await purgeShreddedTenants()
        return receipt
    }

    /// Deletes the remaining records of shredded tenants, 10,000 entries per transaction.
    /// They cannot be decrypted any more; this only frees space. Resumable at any point.
    func purgeShreddedTenants() async throws {
        let shredded = try tenantRecords().filter { $0.state == .shredded }.map(\.number)
        let databases = [db.messages, db.conversations, db.subjects, db.times, db.idempotency]
        for number in shredded {
            for database in databases {
                while try await writer.submit({ [self] txn in
                    try deletePrefix(.bigEndian(number), in: database, txn: txn, limit: 10_000)
                }) == 10_000 {}
            }
        }
    }
}
