import Foundation
import Testing
import TranscriptCrypto
import TranscriptStorage
import TranscriptTestSupport
@testable import TranscriptVault

/// The attacker of DESIGN §4: holds every copy ever taken of `store/`, plus the current keyring
/// and unlock key file, and unwraps everything it can reach.
///
/// It gathers evidence two ways from each copy: structurally (opening the copy as an LMDB
/// environment and decoding its live records) and raw (scanning the bytes of every file for
/// sealed-key blobs and LMDB leaf nodes, which also finds old record versions left in free
/// pages). It then unwraps, level by level, with every key it holds and every associated-data
/// combination that could apply (every tenant number, KEK version and root epoch seen, plus
/// one beyond): roots from the keyring → KEKs and index keys → DEKs → messages and metadata.
struct Attacker {
    /// The current keyring file and the unlock key file.
    var keyringPath: String
    var unlockKeyPath: String
    /// Directories holding a `data.mdb` (copies of `store/`), opened as LMDB environments.
    var copies: [String]
    /// Further files only scanned raw (e.g. the live store's `data.mdb`).
    var rawFiles: [String]
    /// Redo logs (`store/redo.log` and copies of it): scanned raw, and every record found in
    /// them, of any generation, stale or revoked ones included, parsed for its puts.
    var redoLogs: [String]

    init(keyringPath: String, unlockKeyPath: String, copies: [String], rawFiles: [String] = [], redoLogs: [String] = []) {
        self.keyringPath = keyringPath
        self.unlockKeyPath = unlockKeyPath
        self.copies = copies
        self.rawFiles = rawFiles
        self.redoLogs = redoLogs
    }

    /// The attacker of a live vault's directory: its keyring and unlock key as they are now,
    /// the given copies, a consistent copy of the live store, and the live `data.mdb` raw.
    init(vault: Vault, copies: [String], scratch: String) throws {
        let live = scratch + "/live-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
        try vault.environment.copy(to: live, compact: false)
        let redo = vault.dataDirectory.store + "/redo.log"
        self.init(keyringPath: vault.dataDirectory.keyring, unlockKeyPath: vault.dataDirectory.unlockKey,
                  copies: copies + [live], rawFiles: [vault.dataDirectory.store + "/data.mdb"],
                  redoLogs: FileManager.default.fileExists(atPath: redo) ? [redo] : [])
    }

    struct TenantKey: Hashable { var tenant: UInt32; var version: UInt32; var key: [UInt8] }
    struct DataKey: Hashable { var tenant: UInt32; var ck: [UInt8]; var key: [UInt8] }
    struct Opened: Hashable { var tenant: UInt32; var ck: [UInt8]; var seq: UInt64; var clear: [UInt8] }

    /// Everything recovered.
    struct Loot: CustomTestStringConvertible {
        var testDescription: String {
            "Loot(\(roots.count) roots, \(keks.count) KEKs, \(indexKeys.count) index keys, \(deks.count) DEKs, "
                + "\(messages.count) messages, \(metadata.count) metadata; from \(evidence.testDescription))"
        }

        var roots: [UInt64: [UInt8]] = [:]
        var keks: Set<TenantKey> = []
        var indexKeys: Set<TenantKey> = []
        var deks: Set<DataKey> = []
        var messages: Set<Opened> = []
        /// Opened conversation metadata (seq 0): its encoded clear bytes.
        var metadata: Set<Opened> = []
        var evidence = Evidence()

        /// Whether any recovered clear text holds `text`.
        func reveals(_ text: String) -> Bool { reveals(Array(text.utf8)) }

        func reveals(_ bytes: [UInt8]) -> Bool {
            messages.contains { contains($0.clear, bytes) } || metadata.contains { contains($0.clear, bytes) }
        }

        /// Whether `key` (raw bytes) is among the recovered keys of any level.
        func holds(_ key: [UInt8]) -> Bool {
            roots.values.contains(key) || keks.contains { $0.key == key } || indexKeys.contains { $0.key == key }
                || deks.contains { $0.key == key }
        }

        /// Whether the guess `request` of an append's content is confirmed by an idempotency
        /// record of a copy, trying every recovered index key and DEK as the hash's key.
        func confirms(_ request: AppendRequest) -> Bool {
            let keys = indexKeys.map(\.key) + deks.map(\.key)
            return keys.contains { raw in
                guard raw.count == SecretKey.byteCount else { return false }
                do {
                    let key = try SecretKey(filling: { target in raw.withUnsafeBytes { target.copyMemory(from: $0) } })
                    return evidence.idempotencyHashes.contains(Vault.idempotencyContentHash(request, key: key))
                } catch {
                    return false
                }
            }
        }

        /// Whether any record of the conversation `ck` of `tenant` was opened.
        func opened(tenant: UInt32, ck: [UInt8]) -> Bool {
            deks.contains { $0.tenant == tenant && $0.ck == ck }
                || messages.contains { $0.tenant == tenant && $0.ck == ck }
                || metadata.contains { $0.tenant == tenant && $0.ck == ck }
        }
    }

    struct SealedMessage: Hashable { var tenant: UInt32; var ck: [UInt8]; var seq: UInt64; var createdAt: Int64; var sealed: [UInt8] }
    struct SealedMetadata: Hashable { var tenant: UInt32; var ck: [UInt8]; var sealed: [UInt8] }

    /// What the copies hold, before any decryption.
    struct Evidence: CustomTestStringConvertible {
        var testDescription: String {
            "\(copiesOpened) copies opened, \(filesScanned) files scanned, \(sealedKeys.count) sealed keys, "
                + "\(messages.count) sealed messages, \(sealedMetadata.count) sealed metadata"
        }

        var storeIDs: Set<[UInt8]> = []
        var epochs: Set<UInt64> = []
        var tenants: Set<UInt32> = []
        var versions: Set<UInt32> = []
        /// Every 72-byte blob that could be a sealed key (found in records or by raw scan).
        var sealedKeys: Set<[UInt8]> = []
        var conversations: [UInt32: Set<[UInt8]>] = [:]
        var sealedMetadata: Set<SealedMetadata> = []
        var messages: Set<SealedMessage> = []
        /// The content hashes of idempotency records: a guess of an append's content can be
        /// confirmed against them by anyone holding the key they were made with.
        var idempotencyHashes: Set<[UInt8]> = []
        var copiesOpened = 0
        var filesScanned = 0
    }

    func run() throws -> Loot {
        var evidence = Evidence()
        let keyring = try Keyring.load(path: keyringPath)
        evidence.storeIDs.insert(keyring.storeID)
        evidence.epochs.formUnion(keyring.entries.map(\.epoch))
        for copy in copies { try gatherStructurally(copy, into: &evidence) }
        // Raw pass after the structural one, so that the tenant numbers it keys on are known.
        for tenant in 1...4 { evidence.tenants.insert(UInt32(tenant)) }
        for file in copies.map({ $0 + "/data.mdb" }) + rawFiles + redoLogs {
            try gatherRaw(try fileBytes(file), into: &evidence)
        }
        for file in redoLogs { gatherRedo(try fileBytes(file), into: &evidence) }
        return try unwrap(evidence, keyring: keyring)
    }

    /// Parses every redo-log record found at a 4 KiB boundary (magic "TVR2", or "TVRR" of the
    /// earlier format), whatever its generation, sequence or checksum, and notes what its puts
    /// hold.
    private func gatherRedo(_ bytes: [UInt8], into evidence: inout Evidence) {
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var offset = 0
        while offset + 40 <= bytes.count {
            defer { offset += 4096 }
            guard isRedoRecordMagic(bytes[offset..<offset + 4]) else { continue }
            let end = min(bytes.count, offset + 40 + u32(offset + 4))
            var at = offset + 40
            while at + 2 <= end {
                let kind = bytes[at]
                let nameLength = Int(bytes[at + 1])
                guard kind >= 1 && kind <= 3, at + 2 + nameLength <= end else { break }
                let name = String(decoding: bytes[(at + 2)..<(at + 2 + nameLength)], as: UTF8.self)
                at += 2 + nameLength
                if kind == 3 { continue }
                guard at + 4 <= end, at + 4 + u32(at) <= end else { break }
                let key = Array(bytes[(at + 4)..<(at + 4 + u32(at))])
                at += 4 + key.count
                if kind == 2 { continue }
                guard at + 4 <= end, at + 4 + u32(at) <= end else { break }
                let value = Array(bytes[(at + 4)..<(at + 4 + u32(at))])
                at += 4 + value.count
                notePut(database: name, key: key, value: value, into: &evidence)
            }
        }
    }

    private func notePut(database: String, key: [UInt8], value: [UInt8], into evidence: inout Evidence) {
        switch database {
        case Schema.conversations:
            if let record = try? value.withUnsafeBytes({ try ConversationRecord(decoding: $0) }) {
                note(conversation: key, record: record, into: &evidence)
            }
        case Schema.messages:
            note(message: key, value: value, into: &evidence)
        case Schema.tenants:
            if let record = try? value.withUnsafeBytes({ try TenantRecord(decoding: $0) }) {
                evidence.tenants.insert(record.number)
                evidence.epochs.insert(record.epoch)
                for kek in record.keks {
                    evidence.versions.insert(kek.version)
                    evidence.sealedKeys.insert(kek.sealed)
                }
                if !record.sealedIndexKey.isEmpty { evidence.sealedKeys.insert(record.sealedIndexKey) }
            }
        case Schema.meta:
            if key == Schema.MetaKey.rootEpoch, value.count == 8 { evidence.epochs.insert(value.reduce(0) { $0 << 8 | UInt64($1) }) }
            if key == Schema.MetaKey.storeID { evidence.storeIDs.insert(value) }
            if StoreKeys.names.map(StoreKeys.metaKey).contains(key) { evidence.sealedKeys.insert(value) }
        case Schema.idempotency:
            if let record = try? value.withUnsafeBytes({ try IdempotencyRecord(decoding: $0) }) {
                evidence.idempotencyHashes.insert(record.contentHash)
            }
        default:
            break
        }
    }

    // MARK: Evidence

    private func gatherStructurally(_ directory: String, into evidence: inout Evidence) throws {
        var options = Environment.Options()
        options.initialMapSize = 1 << 20
        options.durable = false
        let environment: Environment
        do {
            environment = try Environment(path: directory, databases: Schema.all, options: options)
        } catch {
            // A raw copy taken mid-write may not open; its bytes are still scanned raw.
            return
        }
        evidence.copiesOpened += 1
        try environment.read { txn in
            let meta = environment[Schema.meta]
            if let id = try txn.value(in: meta, forKey: Schema.MetaKey.storeID) { evidence.storeIDs.insert(id) }
            if let epoch = try txn.value(in: meta, forKey: Schema.MetaKey.rootEpoch), epoch.count == 8 {
                evidence.epochs.insert(epoch.reduce(0) { $0 << 8 | UInt64($1) })
            }
            for name in StoreKeys.names {
                if let sealed = try txn.value(in: meta, forKey: StoreKeys.metaKey(name)) { evidence.sealedKeys.insert(sealed) }
            }
            try txn.withCursor(environment[Schema.tenants]) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    let record = try TenantRecord(decoding: current.value)
                    evidence.tenants.insert(record.number)
                    evidence.epochs.insert(record.epoch)
                    for kek in record.keks {
                        evidence.versions.insert(kek.version)
                        evidence.sealedKeys.insert(kek.sealed)
                    }
                    evidence.versions.insert(record.currentKEK)
                    if !record.sealedIndexKey.isEmpty { evidence.sealedKeys.insert(record.sealedIndexKey) }
                    entry = try cursor.next()
                }
            }
            try txn.withCursor(environment[Schema.conversations]) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    let key = Array(current.key)
                    let record = try ConversationRecord(decoding: current.value)
                    note(conversation: key, record: record, into: &evidence)
                    entry = try cursor.next()
                }
            }
            try txn.withCursor(environment[Schema.messages]) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    note(message: Array(current.key), value: Array(current.value), into: &evidence)
                    entry = try cursor.next()
                }
            }
            // Index entries name conversations too (by keyed hash).
            for (database, length) in [(Schema.subjects, 36), (Schema.idempotency, 36), (Schema.times, 28)] {
                try txn.withCursor(environment[database]) { cursor in
                    var entry = try cursor.first()
                    while let current = entry {
                        let key = Array(current.key)
                        if database == Schema.idempotency, let record = try? IdempotencyRecord(decoding: current.value) {
                            evidence.idempotencyHashes.insert(record.contentHash)
                        }
                        if key.count == length {
                            let tenant = key[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                            let ck = database == Schema.subjects ? Array(key[20..<36])
                                : database == Schema.times ? Array(key[12..<28]) : Array(key[4..<20])
                            evidence.conversations[tenant, default: []].insert(ck)
                        }
                        entry = try cursor.next()
                    }
                }
            }
        }
    }

    private func note(conversation key: [UInt8], record: ConversationRecord, into evidence: inout Evidence) {
        guard key.count == 4 + Schema.idHashLength else { return }
        let tenant = key[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let ck = Array(key[4...])
        evidence.conversations[tenant, default: []].insert(ck)
        evidence.versions.insert(record.kekVersion)
        evidence.sealedKeys.insert(record.sealedDEK)
        evidence.sealedMetadata.insert(SealedMetadata(tenant: tenant, ck: ck, sealed: record.sealedMetadata))
    }

    private func note(message key: [UInt8], value: [UInt8], into evidence: inout Evidence) {
        guard key.count == 4 + Schema.idHashLength + 8, value.count >= 9 + AEAD.overhead, value[0] == 1 else { return }
        let tenant = key[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let ck = Array(key[4..<20])
        let seq = key[20..<28].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let createdAt = Int64(bitPattern: value[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        evidence.conversations[tenant, default: []].insert(ck)
        evidence.messages.insert(SealedMessage(tenant: tenant, ck: ck, seq: seq, createdAt: createdAt, sealed: Array(value[9...])))
    }

    /// Scans raw bytes: every length-prefixed 72-byte blob (how records store sealed keys), and
    /// every LMDB leaf node (header: data size lo/hi u16, flags u16, key size u16, all
    /// little-endian; then key and value) whose key looks like a conversation or a message key.
    private func gatherRaw(_ bytes: [UInt8], into evidence: inout Evidence) throws {
        evidence.filesScanned += 1
        let sealedLength = AEAD.sealedKeyByteCount
        bytes.withUnsafeBytes { buffer in
            for offset in offsets(of: .bigEndian(UInt32(sealedLength)), in: buffer) where offset + 4 + sealedLength <= buffer.count {
                evidence.sealedKeys.insert(Array(buffer[(offset + 4)..<(offset + 4 + sealedLength)]))
            }
            func u16(_ at: Int) -> Int { Int(buffer[at]) | Int(buffer[at + 1]) << 8 }
            for tenant in evidence.tenants {
                for keySize in [4 + Schema.idHashLength, 4 + Schema.idHashLength + 8] {
                    // flags 0, key size, then the key's first bytes: the tenant number.
                    let pattern: [UInt8] = [0, 0, UInt8(keySize), 0] + .bigEndian(tenant)
                    for hit in offsets(of: pattern, in: buffer) {
                        let node = hit - 4
                        guard node >= 0 else { continue }
                        let dataSize = u16(node) | u16(node + 2) << 16
                        let keyStart = node + 8
                        let valueStart = keyStart + keySize
                        guard dataSize > 0, dataSize < 1 << 16, valueStart + dataSize <= buffer.count else { continue }
                        let key = Array(buffer[keyStart..<valueStart])
                        let value = Array(buffer[valueStart..<(valueStart + dataSize)])
                        if keySize == 4 + Schema.idHashLength {
                            if let record = try? value.withUnsafeBytes({ try ConversationRecord(decoding: $0) }) {
                                note(conversation: key, record: record, into: &evidence)
                            }
                        } else {
                            note(message: key, value: value, into: &evidence)
                        }
                    }
                }
            }
        }
    }

    // MARK: Unwrapping

    private func unwrap(_ evidence: Evidence, keyring: Keyring) throws -> Loot {
        var loot = Loot()
        loot.evidence = evidence
        let epochs = Array(1...((evidence.epochs.max() ?? 1) + 1))
        let versions = Array(1...((evidence.versions.max() ?? 1) + 1))
        let tenants = evidence.tenants.sorted()
        let storeIDs = Array(evidence.storeIDs)

        // Roots: every keyring entry with the unlock key, under every epoch's associated data.
        let unlock = KeyBox(try UnlockSecret.loadKeyFile(unlockKeyPath))
        for entry in keyring.entries {
            for storeID in storeIDs {
                for epoch in epochs {
                    if let clear = try? AEAD.open(entry.sealedRoot, using: unlock.key,
                                                  authenticating: Keyring.rootAD(storeID: storeID, epoch: epoch)) {
                        loot.roots[epoch] = clear
                    }
                }
            }
        }

        // KEKs and index keys: every blob, with every root, every tenant/version/epoch.
        var kekADs: [(tenant: UInt32, version: UInt32, ad: [UInt8])] = []
        var indexADs: [(tenant: UInt32, ad: [UInt8])] = []
        for storeID in storeIDs {
            for tenant in tenants {
                for epoch in epochs {
                    indexADs.append((tenant, AssociatedData.indexKey(storeID: storeID, tenant: tenant, epoch: epoch)))
                    for version in versions {
                        kekADs.append((tenant, version, AssociatedData.kek(storeID: storeID, tenant: tenant, version: version, epoch: epoch)))
                    }
                }
            }
        }
        let blobs = Array(evidence.sealedKeys)
        for (_, rootBytes) in loot.roots {
            let root = try box(rootBytes)
            for blob in blobs {
                for candidate in kekADs {
                    if let clear = try? AEAD.open(blob, using: root.key, authenticating: candidate.ad) {
                        loot.keks.insert(TenantKey(tenant: candidate.tenant, version: candidate.version, key: clear))
                    }
                }
                for candidate in indexADs {
                    if let clear = try? AEAD.open(blob, using: root.key, authenticating: candidate.ad) {
                        loot.indexKeys.insert(TenantKey(tenant: candidate.tenant, version: 0, key: clear))
                    }
                }
            }
        }

        // DEKs: every blob, with every KEK held, for every conversation of its tenant and version.
        for kek in loot.keks {
            let wrapping = try box(kek.key)
            var ads: [(ck: [UInt8], ad: [UInt8])] = []
            for storeID in storeIDs {
                for ck in evidence.conversations[kek.tenant, default: []] {
                    for version in versions {
                        ads.append((ck, AssociatedData.dek(storeID: storeID, tenant: kek.tenant, conversation: ck, kekVersion: version)))
                    }
                }
            }
            for blob in blobs {
                for candidate in ads {
                    if let clear = try? AEAD.open(blob, using: wrapping.key, authenticating: candidate.ad) {
                        loot.deks.insert(DataKey(tenant: kek.tenant, ck: candidate.ck, key: clear))
                    }
                }
            }
        }

        // Messages and metadata: every sealed one, with every DEK held.
        for dek in loot.deks {
            let key = try box(dek.key)
            for message in evidence.messages {
                let ad = AssociatedData.message(tenant: message.tenant, conversation: message.ck, seq: message.seq, createdAt: message.createdAt)
                if let clear = try? AEAD.open(message.sealed, using: key.key, authenticating: ad) {
                    loot.messages.insert(Opened(tenant: message.tenant, ck: message.ck, seq: message.seq, clear: clear))
                }
            }
            for metadata in evidence.sealedMetadata {
                let ad = AssociatedData.metadata(tenant: metadata.tenant, conversation: metadata.ck)
                if let clear = try? AEAD.open(metadata.sealed, using: key.key, authenticating: ad) {
                    loot.metadata.insert(Opened(tenant: metadata.tenant, ck: metadata.ck, seq: 0, clear: clear))
                }
            }
        }
        return loot
    }

    private func box(_ bytes: [UInt8]) throws -> KeyBox {
        try keyBox(bytes)
    }
}
