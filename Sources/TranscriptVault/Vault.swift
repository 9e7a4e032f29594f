public import TranscriptCrypto
internal import TranscriptStorage
import Synchronization

/// The engine: an open, unlocked store in one data directory.
///
/// It owns the directory (an exclusive lock), the LMDB environment, the writer thread and the
/// caches of unwrapped keys. Reads run on the caller's thread; writes go through the writer.
///
/// ```swift
/// let vault = try Vault.open(.init(dataDirectory: "./.tvault"))
/// _ = try await vault.createTenant("acme")
/// let result = try await vault.append(AppendRequest(tenant: "acme", conversationID: "c1", messages: [bytes]))
/// let page = try vault.read(tenant: "acme", conversationID: "c1")
/// ```
public final class Vault: Sendable {
    /// How a store is opened.
    public struct Configuration: Sendable {
        /// The data directory.
        public var dataDirectory: DataDirectory
        /// What unlocks the keyring; by default the directory's `unlock.key`.
        public var unlock: UnlockSecret
        /// Unwrapped DEKs kept in guarded memory (0 disables the cache).
        public var dekCacheCapacity: Int = 4096
        /// The initial LMDB map size; the map grows on demand. Address space only: the data file
        /// grows with use. Large enough that a young store's map seldom grows (each growth
        /// waits for a checkpoint with every transaction closed) and keeps the quarter free
        /// that writes need to be carried (see ``Environment/write(carrying:_:)``).
        public var initialMapSize: Int = 1 << 30
        /// The largest the LMDB map may grow.
        public var maximumMapSize: Int = 1 << 40
        /// Whether commits are durable (fsync). Off only for benchmarks of its cost.
        public var durable: Bool = true
        /// The most jobs in one group commit.
        public var maxBatch: Int = 512
        /// How long the writer thread waits for late callers before it commits the writes it
        /// carries (see ``Writer/defaultPublicationDelay``); tests lengthen it.
        var publicationDelay: Double = Writer.defaultPublicationDelay
        /// Whether, while the writer serves concurrent callers, a thread of the idle scheduling
        /// class keeps one processor polling instead of halting, so that the threads woken
        /// between a batch's flush and the next batch start at once (``IdlePoller``). It uses
        /// only processor time nothing else wants, and is never used under a cgroup CPU quota.
        public var idlePolling: Bool = true
        /// The Argon2id cost used when a passphrase store is initialised.
        public var passphraseCost: PassphraseKDF.Cost = .moderate
        /// The largest message accepted, in bytes.
        public var maxMessageBytes: Int = 4 << 20
        /// The most messages in one append.
        public var maxMessagesPerAppend: Int = 1000

        public init(dataDirectory: String, unlock: UnlockSecret? = nil) {
            let directory = DataDirectory(path: dataDirectory)
            self.dataDirectory = directory
            self.unlock = unlock ?? .keyFile(directory.unlockKey)
        }
    }

    let configuration: Configuration
    let environment: Environment
    let writer: Writer
    let lock: DirectoryLock
    let storeID: [UInt8]
    let dekCache: KeyCache
    let tenantCache = TenantKeyCache()
    let roots: Mutex<[UInt64: KeyBox]>
    /// The key under which token secrets are hashed (sealed under the root in `meta`).
    let tokenKey: KeyBox
    /// The key that chains the audit log (sealed under the root in `meta`).
    let auditKey: KeyBox
    /// The key derived from the unlock secret, which seals root keys in the keyring; held so
    /// that a root rotation needs no second Argon2id run.
    let unlockKey: KeyBox
    /// Serialises key management: KEK rotations, root rotations, erasure epochs.
    let keyLock = AsyncLock()
    /// Tokens revoked since the store was opened, for connections that authenticated with
    /// them before (see ``revocationCount``).
    let revocations = TokenRevocations()
    /// Called after each shred (see ``onErasureRequested(_:)``).
    let erasureSignal = Mutex<(@Sendable () -> Void)?>(nil)
    let db: Databases

    /// The handles of the store's named databases.
    struct Databases: Sendable {
        let meta, tenants, tokens, conversations, messages, subjects, times, idempotency: Database
        let erasures, receipts, audit: Database

        init(_ env: Environment) {
            meta = env[Schema.meta]; tenants = env[Schema.tenants]; tokens = env[Schema.tokens]
            conversations = env[Schema.conversations]; messages = env[Schema.messages]
            subjects = env[Schema.subjects]; times = env[Schema.times]; idempotency = env[Schema.idempotency]
            erasures = env[Schema.erasures]; receipts = env[Schema.receipts]; audit = env[Schema.audit]
        }
    }

    /// The data directory of this store.
    public var dataDirectory: DataDirectory { configuration.dataDirectory }

    private init(configuration: Configuration, lock: DirectoryLock, environment: Environment, storeID: [UInt8], roots: [UInt64: KeyBox], storeKeys: [String: KeyBox], unlockKey: KeyBox) {
        self.configuration = configuration
        self.unlockKey = unlockKey
        self.tokenKey = storeKeys["token"]!
        self.auditKey = storeKeys["audit"]!
        self.lock = lock
        self.environment = environment
        self.storeID = storeID
        self.roots = Mutex(roots)
        self.db = Databases(environment)
        self.dekCache = KeyCache(capacity: configuration.dekCacheCapacity)
        self.writer = Writer(environment: environment, maxBatch: configuration.maxBatch,
                             publicationDelay: configuration.publicationDelay,
                             idlePoller: configuration.idlePolling ? IdlePoller.make() : nil)
    }

    deinit { writer.close() }

    /// Finishes pending writes and stops the writer, then checkpoints the store so that its redo
    /// log holds nothing to replay at the next open. Further writes fail with `unavailable`.
    public func close() {
        writer.close()
        // Everything acknowledged is durable already; a failed checkpoint only means the next
        // open replays the log.
        try? environment.sync()
    }

    static func takeLock(_ directory: DataDirectory) throws -> DirectoryLock {
        do {
            return try DirectoryLock(path: directory.lockFile)
        } catch let error as LMDBError where error == .directoryLocked {
            throw VaultError.storeLocked("the data directory \(directory.path) is in use by another process (a running server?)")
        } catch {
            throw VaultError.unavailable("cannot lock the data directory (\(error))")
        }
    }

    static func openEnvironment(_ configuration: Configuration) throws -> Environment {
        var options = Environment.Options()
        options.initialMapSize = configuration.initialMapSize
        options.maximumMapSize = configuration.maximumMapSize
        options.durable = configuration.durable
        do {
            return try Environment(path: configuration.dataDirectory.store, databases: Schema.all, options: options)
        } catch {
            throw VaultError.unavailable("cannot open the LMDB environment (\(error))")
        }
    }

    /// Whether the keyring of `directory` is unlocked with a passphrase (rather than a key
    /// file); `false` when there is no readable keyring. Lets a CLI ask for the passphrase
    /// before opening.
    public static func keyringUsesPassphrase(_ directory: DataDirectory) -> Bool {
        guard let keyring = try? Keyring.load(path: directory.keyring) else { return false }
        if case .argon2id = keyring.kdf { return true }
        return false
    }

    /// What to do about a store found without its keyring.
    static func missingKeyring(_ directory: DataDirectory) -> String {
        "there is no keyring file at \(directory.keyring), but \(directory.store) holds a store: restore the keyring " +
            "from the backup the store came from (if `tvault init` was interrupted before it wrote the keyring, run it again)"
    }

    /// Whether the store holds nothing but the metadata `initialize` writes before the keyring
    /// (what an interrupted `init` leaves): no other metadata, no record in any other database.
    static func holdsOnlyInitMetadata(_ txn: ReadTransaction, _ environment: Environment) throws -> Bool {
        let initKeys: Set<[UInt8]> = [Schema.MetaKey.format, Schema.MetaKey.storeID, Schema.MetaKey.rootEpoch, Schema.MetaKey.nextTenant]
        for name in Schema.all where name != Schema.meta {
            if try txn.entryCount(in: environment[name]) > 0 { return false }
        }
        return try txn.withCursor(environment[Schema.meta]) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                guard initKeys.contains(Array(current.key)) else { return false }
                entry = try cursor.next()
            }
            return true
        }
    }

    /// Opens an initialised store and unlocks it.
    ///
    /// - Throws: ``VaultError/notInitialized(_:)``, ``VaultError/storeLocked(_:)``, or an unlock
    ///   failure (``VaultError/isUnlockFailure``): a wrong secret, a damaged or foreign keyring.
    ///   Nothing in the directory is changed by a failed open.
    public static func open(_ configuration: Configuration) throws -> Vault {
        let directory = configuration.dataDirectory
        guard directory.isInitialized || directory.holdsStore else {
            // Said before the lock, which would create its file in the directory (or fail on a
            // directory that does not exist, with a less helpful error).
            throw VaultError.notInitialized(directory.noStoreMessage)
        }
        let lock = try takeLock(directory)
        if !directory.isInitialized && directory.holdsStore {
            // Not a missing store (run init) but a store without its root keys: nothing of it
            // can be opened until the keyring is back.
            throw VaultError.keyringMismatch(missingKeyring(directory))
        }
        let keyring = try Keyring.load(path: directory.keyring)
        let unlockKey = KeyBox(try keyring.unlockKey(with: configuration.unlock))
        try keyring.verify(unlockKey: unlockKey.key)
        let environment = try openEnvironment(configuration)
        let (storeID, epoch) = try environment.read { txn -> ([UInt8], UInt64) in
            let meta = environment[Schema.meta]
            guard let format = try txn.value(in: meta, forKey: Schema.MetaKey.format) else {
                throw VaultError.notInitialized("the store in \(directory.store) has no metadata")
            }
            guard format == [Schema.formatVersion] else { throw VaultError.recordCorrupted("store format") }
            guard let id = try txn.value(in: meta, forKey: Schema.MetaKey.storeID),
                  let epochBytes = try txn.value(in: meta, forKey: Schema.MetaKey.rootEpoch), epochBytes.count == 8 else {
                throw VaultError.recordCorrupted("store metadata")
            }
            return (id, epochBytes.bigEndianInteger(as: UInt64.self))
        }
        guard KeyedHash.constantTimeEqual(storeID, keyring.storeID) else {
            throw VaultError.keyringMismatch("it belongs to another store")
        }
        let root = KeyBox(try keyring.openRoot(epoch: epoch, unlockKey: unlockKey.key))
        // A keyring replacement interrupted by a crash left its temporary, or the old file
        // under a second name: zeroed now that the secret is known to be right (a failed open
        // changes nothing).
        try Keyring.destroyLeftovers(path: directory.keyring)
        // A root rotation interrupted by a crash leaves the keyring with an extra epoch (the
        // next one, never committed, or the previous one, already replaced): keep only the
        // store's epoch.
        if keyring.entries.count > 1 {
            var cleaned = keyring
            cleaned.entries = keyring.entries.filter { $0.epoch == epoch }
            try cleaned.save(path: directory.keyring)
        }
        var storeKeys: [String: KeyBox] = [:]
        for name in StoreKeys.names {
            storeKeys[name] = try StoreKeys.load(name, in: environment, root: root, epoch: epoch, storeID: storeID)
        }
        return Vault(configuration: configuration, lock: lock, environment: environment, storeID: storeID,
                     roots: [epoch: root], storeKeys: storeKeys, unlockKey: unlockKey)
    }

    /// Creates a new store in an empty (or missing) data directory and opens it.
    ///
    /// With a key-file unlock secret whose file does not exist, a new key file is generated
    /// (mode 0400). With a passphrase, Argon2id parameters are chosen from
    /// ``Configuration/passphraseCost`` and kept in the keyring.
    ///
    /// - Throws: ``VaultError/alreadyInitialized(_:)`` when the directory holds a keyring;
    ///   ``VaultError/keyringMismatch(_:)`` when it holds a store without its keyring (anything
    ///   beyond the metadata an interrupted `init` leaves), in which case nothing is created.
    public static func initialize(_ configuration: Configuration) throws -> Vault {
        let directory = configuration.dataDirectory
        try directory.create()
        let lock = try takeLock(directory)
        if directory.isInitialized {
            throw VaultError.alreadyInitialized("\(directory.path) already holds a keyring")
        }
        // A store is here without its keyring: only what an interrupted `init` leaves (its own
        // metadata, nothing else) is initialised again. Anything more is a store whose keyring
        // is missing, and is left as it is, with nothing created beside it.
        let environment = try openEnvironment(configuration)
        guard try environment.read({ try holdsOnlyInitMetadata($0, environment) }) else {
            throw VaultError.keyringMismatch(missingKeyring(directory))
        }
        let kdf: Keyring.KDF
        switch configuration.unlock {
        case .keyFile(let path):
            if !FileSystem.exists(path) { try UnlockSecret.generateKeyFile(at: path) }
            kdf = .keyFile
        case .passphrase:
            kdf = .argon2id(salt: PassphraseKDF.makeSalt(), cost: configuration.passphraseCost)
        }
        let storeID = SecureRandom.bytes(16)
        var keyring = Keyring(kdf: kdf, storeID: storeID, entries: [])
        let unlockKey = KeyBox(try keyring.unlockKey(with: configuration.unlock))
        let root = try SecretKey.random()
        keyring.entries = [try keyring.sealing(root: root, epoch: 1, unlockKey: unlockKey.key)]
        try environment.write { txn in
            let meta = environment[Schema.meta]
            try txn.put([Schema.formatVersion], forKey: Schema.MetaKey.format, in: meta)
            try txn.put(storeID, forKey: Schema.MetaKey.storeID, in: meta)
            try txn.put(.bigEndian(UInt64(1)), forKey: Schema.MetaKey.rootEpoch, in: meta)
            try txn.put(.bigEndian(UInt32(1)), forKey: Schema.MetaKey.nextTenant, in: meta)
        }
        // The keyring is written last: after a crash before this point `init` can run again.
        try keyring.save(path: directory.keyring)
        let rootBox = KeyBox(root)
        var storeKeys: [String: KeyBox] = [:]
        for name in StoreKeys.names {
            storeKeys[name] = try StoreKeys.load(name, in: environment, root: rootBox, epoch: 1, storeID: storeID)
        }
        return Vault(configuration: configuration, lock: lock, environment: environment, storeID: storeID,
                     roots: [1: rootBox], storeKeys: storeKeys, unlockKey: unlockKey)
    }
}
