internal import TranscriptCrypto
internal import TranscriptStorage
import Synchronization

/// What an erasure epoch did.
public struct ErasureEpoch: Sendable, Equatable {
    /// The tenants whose KEKs were rotated.
    public var tenants: [String]
    /// The new root epoch, or `nil` when nothing was pending.
    public var epoch: UInt64?
}

extension Vault {
    /// Records in `erasures` that a tenant needs an erasure epoch. The value changes with each
    /// shred, so an epoch clears only the entries it has covered; its time stays that of the
    /// oldest shred not covered yet, so that later shreds never postpone the epoch it waits for.
    func markErasurePending(tenant: UInt32, at now: Int64 = Clock.nowMilliseconds(), in txn: WriteTransaction) throws {
        var since = now
        if let existing = try txn.value(in: db.erasures, forKey: .bigEndian(tenant)),
           let older = try? Self.erasureSince(existing) {
            since = min(since, older)
        }
        var value = RecordWriter(capacity: 17)
        value.u8(1)
        value.i64(since)
        value.raw(SecureRandom.bytes(8))
        try txn.put(value.bytes, forKey: .bigEndian(tenant), in: db.erasures)
    }

    /// The time of the oldest shred an `erasures` entry waits for.
    static func erasureSince(_ value: [UInt8]) throws -> Int64 {
        try value.withUnsafeBytes { buffer in
            var reader = RecordReader(buffer, kind: "erasure")
            try reader.version(1)
            return try reader.i64()
        }
    }

    /// Whether any shred waits for an erasure epoch, and since when (ms since the epoch).
    public func pendingErasureSince() throws -> Int64? {
        try environment.read { txn in
            try txn.withCursor(db.erasures) { cursor in
                var oldest: Int64?
                var entry = try cursor.first()
                while let current = entry {
                    var reader = RecordReader(current.value, kind: "erasure")
                    try reader.version(1)
                    let since = try reader.i64()
                    oldest = min(oldest ?? since, since)
                    entry = try cursor.next()
                }
                return oldest
            }
        }
    }

    /// Runs an erasure epoch now: rotates the KEK of every tenant with a pending shred (every
    /// DEK re-wrapped, old versions destroyed), then rotates the root, so that no key that
    /// ever wrapped a shredded DEK exists any more — not in the store, not in the keyring.
    /// Receipts of the shreds it covers then read `erased`.
    ///
    /// Order matters: the KEK rotations finish (old versions destroyed, still under the old
    /// root) before the root rotation re-wraps the surviving KEKs under the new root, so no
    /// copy of the store ever holds a shredded DEK's KEK under a root that survives.
    @discardableResult
    public func runErasureEpoch() async throws -> ErasureEpoch {
        try await keyLock.run { try await self.runErasureEpochLocked() }
    }

    private func runErasureEpochLocked() async throws -> ErasureEpoch {
        let pending: [(number: UInt32, value: [UInt8])] = try environment.read { txn in
            try txn.withCursor(db.erasures) { cursor in
                var result: [(UInt32, [UInt8])] = []
                var entry = try cursor.first()
                while let current = entry {
                    result.append((current.key.bigEndianInteger(as: UInt32.self), Array(current.value)))
                    entry = try cursor.next()
                }
                return result
            }
        }
        guard !pending.isEmpty else { return ErasureEpoch(tenants: [], epoch: nil) }
        let numbers = Set(pending.map(\.number))
        let tenants = try self.tenantRecords().filter { numbers.contains($0.number) }
        var rotated: [String] = []
        for tenant in tenants where tenant.state != .shredded {
            // A rotation a crash interrupted is finished first, and is not enough: its version
            // may already wrap DEKs shredded since, so a fresh version follows in any case.
            if tenant.keks.count > 1 {
                _ = try await rotateTenantKEKLocked(tenant.name, batchSize: Self.rewrapBatchSize, progress: nil)
            }
            _ = try await rotateTenantKEKLocked(tenant.name, batchSize: Self.rewrapBatchSize, progress: nil)
            rotated.append(tenant.name)
        }
        FaultInjection.point("epoch.kek-done")
        let epoch = try await rotateRootLocked(reason: "erasure")
        let databases = db
        let rotatedHashes = rotated.map { auditHash($0, kind: "tenant") }.joined(separator: ",")
        try await writer.submit { [self] txn in
            for (number, value) in pending where try txn.value(in: databases.erasures, forKey: .bigEndian(number)) == value {
                try txn.delete(forKey: .bigEndian(number), in: databases.erasures)
            }
            try audit("erasure.epoch", [
                .init("epoch", "\(epoch)"),
                .init("tenants", rotatedHashes),
            ], in: txn)
        }
        return ErasureEpoch(tenants: rotated, epoch: epoch)
    }

    /// Every tenant record, in name order.
    func tenantRecords() throws -> [TenantRecord] {
        try environment.read { txn in
            try txn.withCursor(db.tenants) { cursor in
                var records: [TenantRecord] = []
                var entry = try cursor.first()
                while let current = entry {
                    records.append(try TenantRecord(decoding: current.value))
                    entry = try cursor.next()
                }
                return records
            }
        }
    }

    /// Wakes whoever schedules erasure epochs (the server's scheduler).
    func erasureRequested() {
        erasureSignal.withLock { $0?() }
    }

    /// Sets the function called after each shred, for a scheduler that batches epochs.
    public func onErasureRequested(_ handler: (@Sendable () -> Void)?) {
        erasureSignal.withLock { $0 = handler }
    }
}
