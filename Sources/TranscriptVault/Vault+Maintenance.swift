import Foundation
internal import Glibc
internal import TranscriptStorage

extension Vault {
    /// The root epoch, tenant count and audit length, from one snapshot.
    public func status() throws -> StoreStatus {
        try environment.read { txn in
            StoreStatus(epoch: try rootEpoch(in: txn), tenants: try txn.entryCount(in: db.tenants),
                        auditRecords: try txn.entryCount(in: db.audit))
        }
    }

    /// Counts tenants, conversations, messages, bytes and key versions by scanning the
    /// tenant and conversation records (no message is opened), plus the map's use.
    ///
    /// - Throws: ``VaultError/recordCorrupted(_:)`` for a tenant or conversation record that
    ///   does not decode (`tvault verify` tells which).
    public func stats() throws -> StoreStats {
        let usage = environment.usage
        return try environment.read { txn in
            var tenants: [StoreStats.TenantStats] = []
            var index: [UInt32: Int] = [:]
            try txn.withCursor(db.tenants) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    let record = try TenantRecord(decoding: current.value)
                    index[record.number] = tenants.count
                    let tenant = Tenant(record)
                    tenants.append(.init(
                        name: record.name, state: tenant.state, epoch: record.epoch, kekVersion: record.currentKEK,
                        kekVersions: record.keks.map(\.version).sorted(), conversationsByKEKVersion: [:],
                        conversations: 0, messages: 0, bytes: 0))
                    entry = try cursor.next()
                }
            }
            var conversations = 0
            try txn.withCursor(db.conversations) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    let record = try ConversationRecord(decoding: current.value)
                    conversations += 1
                    let number = current.key.prefix(4).bigEndianInteger(as: UInt32.self)
                    if let position = index[number] {
                        tenants[position].conversations += 1
                        tenants[position].messages += record.messageCount
                        tenants[position].bytes += record.byteCount
                        tenants[position].conversationsByKEKVersion[record.kekVersion, default: 0] += 1
                    }
                    entry = try cursor.next()
                }
            }
            return StoreStats(
                epoch: try rootEpoch(in: txn), tenants: tenants, conversations: conversations,
                messages: tenants.reduce(0) { $0 + $1.messages }, bytes: tenants.reduce(0) { $0 + $1.bytes },
                tokens: try txn.entryCount(in: db.tokens), auditRecords: try txn.entryCount(in: db.audit),
                mapSize: usage.mapSize, mapUsed: usage.usedBytes, pageSize: usage.pageSize,
                fileBytes: Self.fileSize(dataDirectory.store + "/data.mdb") ?? 0)
        }
    }

    /// Writes a consistent, compacted copy of the store into `<destination>/store` while the
    /// store keeps serving, and makes it durable.
    ///
    /// The copy holds the LMDB environment only, never the keyring: it opens with a keyring
    /// that still holds the root epoch it was taken under (``BackupResult/epoch``), so a root
    /// rotation or an erasure epoch makes it unreadable. The backup is recorded in the audit
    /// log just before the copy starts, in its own transaction (the copy itself writes
    /// nothing), so the copy carries the record of its own making.
    ///
    /// ```swift
    /// let backup = try await vault.backup(to: "/srv/backups/tvault-2024-06-01")
    /// ```
    ///
    /// - Parameter destination: an absolute path; created (mode 0700) when missing. Its
    ///   `store` subdirectory must not hold a store already.
    /// - Throws: ``VaultError/invalidArgument(field:reason:)`` (field `destination`) for a bad
    ///   destination, ``VaultError/unavailable(_:)`` when the copy fails.
    public func backup(to destination: String) async throws -> BackupResult {
        let invalid = { (reason: String) in VaultError.invalidArgument(field: "destination", reason: reason) }
        guard destination.hasPrefix("/") else { throw invalid("must be an absolute path") }
        let destination = destination.count > 1 && destination.hasSuffix("/") ? String(destination.dropLast()) : destination
        let store = destination + "/store"
        if mkdir(destination, 0o700) != 0 && errno != EEXIST {
            throw invalid("cannot create \(destination) (\(String(cString: strerror(errno))))")
        }
        if mkdir(store, 0o700) != 0 && errno != EEXIST {
            throw invalid("cannot create \(store) (\(String(cString: strerror(errno))))")
        }
        guard !FileSystem.exists(store + "/data.mdb") else { throw invalid("\(store) already holds a store") }

        // Under the key lock, so that no root rotation or erasure epoch comes between the epoch
        // reported (and audited) and the copy's snapshot.
        let (epoch, seq) = try await keyLock.run { [self] () async throws -> (UInt64, UInt64) in
            let epoch = try environment.read { try rootEpoch(in: $0) }
            let db = db
            let seq = try await writer.submit { [self] txn -> UInt64 in
                try audit("backup", [.init("destination", auditHash(destination, kind: "path")), .init("epoch", "\(epoch)")], in: txn)
                return try txn.withValue(in: db.meta, forKey: Self.auditHeadKey) { try AuditHead(decoding: $0) }?.seq ?? 0
            }
            let environment = environment
            try await Self.offload {
                do {
                    try environment.copy(to: store, compact: true)
                } catch {
                    throw VaultError.unavailable("the backup copy failed (\(error))")
                }
                try Self.makeDurable(file: store + "/data.mdb")
                try Self.syncDirectory(store)
                try Self.syncDirectory(destination)
            }
            return (epoch, seq)
        }
        return BackupResult(destination: destination, store: store, bytes: Self.fileSize(store + "/data.mdb") ?? 0,
                            epoch: epoch, auditSeq: seq)
    }

    /// Records an export of the audit log (`tvault audit export`) in the log itself.
    public func recordAuditExport() async throws {
        try await writer.submit { [self] txn in try audit("audit.export", [], in: txn) }
    }

    /// Compacts the store of a data directory that no process owns: a compacted copy is
    /// written to `<data-dir>/store.compacting`, made durable, checked to open, and renamed
    /// over `store/data.mdb` (an atomic swap); LMDB's stale `lock.mdb` is removed.
    ///
    /// No key is needed: nothing is decrypted. A crash leaves either the old or the new
    /// file in place, and at worst a `store.compacting` directory that the next run removes.
    ///
    /// ```swift
    /// let result = try Vault.compact(DataDirectory(path: "/var/lib/tvault"))
    /// ```
    ///
    /// - Throws: ``VaultError/storeLocked(_:)`` while a server owns the directory,
    ///   ``VaultError/notInitialized(_:)`` without a store, ``VaultError/unavailable(_:)``
    ///   when a step fails (the store is then left as it was).
    public static func compact(_ directory: DataDirectory) throws -> CompactionResult {
        let lock = try takeLock(directory)
        return try withExtendedLifetime(lock) {
            let dataFile = directory.store + "/data.mdb"
            guard directory.isInitialized, let before = fileSize(dataFile) else {
                throw VaultError.notInitialized("\(directory.path) holds no store")
            }
            let temporary = directory.compactionStore
            try removeCompactionLeftovers(temporary)
            guard mkdir(temporary, 0o700) == 0 else {
                throw VaultError.unavailable("cannot create \(temporary) (\(String(cString: strerror(errno))))")
            }
            do {
                try copyCompacted(from: directory.store, to: temporary)
                try makeDurable(file: temporary + "/data.mdb")
                try checkOpens(temporary)
            } catch {
                try? removeCompactionLeftovers(temporary)
                throw error
            }
            do {
                // The log's checkpoint names the old file's meta pages, which the next open
                // would write into the new one. The old file is whole without it: its
                // environment closed with a checkpoint.
                try Environment.removeLog(at: directory.store)
            } catch {
                try? removeCompactionLeftovers(temporary)
                throw VaultError.unavailable("cannot remove the old redo log (\(error))")
            }
            guard rename(temporary + "/data.mdb", dataFile) == 0 else {
                let reason = String(cString: strerror(errno))
                try? removeCompactionLeftovers(temporary)
                throw VaultError.unavailable("cannot swap in the compacted file (\(reason))")
            }
            try syncDirectory(directory.store)
            // The lock file describes the old file's readers and transactions; no process uses
            // it (we hold the directory), and LMDB creates a fresh one at the next open.
            unlink(directory.store + "/lock.mdb")
            try removeCompactionLeftovers(temporary)
            try syncDirectory(directory.path)
            return CompactionResult(beforeBytes: before, afterBytes: fileSize(dataFile) ?? 0)
        }
    }

    private static func copyCompacted(from source: String, to destination: String) throws {
        // The environment is closed when this function returns, before the swap.
        let environment: Environment
        do {
            environment = try Environment(path: source, databases: Schema.all)
        } catch {
            throw VaultError.unavailable("cannot open the LMDB environment (\(error))")
        }
        do {
            try environment.copy(to: destination, compact: true)
            // The old file must be whole on its own: its redo log is removed before the swap.
            try environment.sync()
        } catch {
            throw VaultError.unavailable("the compacted copy failed (\(error))")
        }
    }

    /// Opens the compacted copy and reads its format, so a bad copy never replaces the store.
    private static func checkOpens(_ path: String) throws {
        do {
            let environment = try Environment(path: path, databases: Schema.all)
            let format = try environment.read { try $0.value(in: environment[Schema.meta], forKey: Schema.MetaKey.format) }
            guard format == [Schema.formatVersion] else { throw VaultError.recordCorrupted("store format") }
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError.unavailable("the compacted copy does not open (\(error))")
        }
        unlink(path + "/lock.mdb")
    }

    private static func removeCompactionLeftovers(_ path: String) throws {
        guard FileSystem.exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw VaultError.unavailable("cannot remove \(path) (\(error))")
        }
    }

    /// Restricts a copied file to its owner and flushes it to disk.
    static func makeDurable(file path: String) throws {
        chmod(path, 0o600)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError.unavailable("cannot open \(path) (\(String(cString: strerror(errno))))") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw VaultError.unavailable("cannot flush \(path) (\(String(cString: strerror(errno))))") }
    }

    /// Flushes a directory, so that the names created in it survive a crash.
    static func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError.unavailable("cannot open \(path) (\(String(cString: strerror(errno))))") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw VaultError.unavailable("cannot flush \(path) (\(String(cString: strerror(errno))))") }
    }

    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Runs blocking work (a long copy, a full scan) on a thread of its own, off the event
    /// loops and the cooperative pool that the server's connections share.
    public static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                nameCurrentThread("tvault-maint")
                continuation.resume(with: Result { try body() })
            }
            thread.start()
        }
    }
}

extension DataDirectory {
    /// Where `tvault compact` writes the compacted copy before swapping it in.
    public var compactionStore: String { path + "/store.compacting" }
}
