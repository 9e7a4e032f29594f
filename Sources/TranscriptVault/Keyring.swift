internal import TranscriptCrypto

/// The keyring file: the root key of the current epoch (and, during a root rotation, of the
/// next one), each sealed under the unlock key.
///
/// Layout (version 1), all integers big-endian:
/// `"TVKR" ‖ version ‖ kdf ‖ salt[16] ‖ opslimit u64 ‖ memlimit u64 ‖ store id[16] ‖ count u8 ‖
/// count × (epoch u64 ‖ sealed root[72]) ‖ BLAKE2b-256 checksum of all before`.
/// The checksum tells a damaged file from a wrong unlock secret.
struct Keyring {
    static let magic: [UInt8] = Array("TVKR".utf8)
    static let version: UInt8 = 1

    enum KDF: Equatable {
        case keyFile
        case argon2id(salt: [UInt8], cost: PassphraseKDF.Cost)
    }

    struct Entry {
        var epoch: UInt64
        var sealedRoot: [UInt8]
    }

    var kdf: KDF
    var storeID: [UInt8]
    var entries: [Entry]

    /// The associated data binding a sealed root key to its store and epoch.
    static func rootAD(storeID: [UInt8], epoch: UInt64) -> [UInt8] {
        var ad = RecordWriter()
        ad.raw(Array("tvault.root.v1".utf8))
        ad.raw(storeID)
        ad.u64(epoch)
        return ad.bytes
    }

    func encoded() -> [UInt8] {
        var out = RecordWriter(capacity: 128)
        out.raw(Self.magic)
        out.u8(Self.version)
        switch kdf {
        case .keyFile:
            out.u8(0)
            out.raw([UInt8](repeating: 0, count: PassphraseKDF.saltByteCount))
            out.u64(0)
            out.u64(0)
        case let .argon2id(salt, cost):
            out.u8(1)
            out.raw(salt)
            out.u64(cost.operations)
            out.u64(cost.memory)
        }
        out.raw(storeID)
        out.u8(UInt8(entries.count))
        for entry in entries {
            out.u64(entry.epoch)
            out.raw(entry.sealedRoot)
        }
        out.raw(KeyedHash.checksum(out.bytes))
        return out.bytes
    }

    init(kdf: KDF, storeID: [UInt8], entries: [Entry]) {
        self.kdf = kdf
        self.storeID = storeID
        self.entries = entries
    }

    init(decoding bytes: [UInt8]) throws {
        guard bytes.count > 32 + Self.magic.count else { throw VaultError.keyringCorrupted("the file is truncated") }
        let body = Array(bytes[..<(bytes.count - 32)])
        guard KeyedHash.constantTimeEqual(KeyedHash.checksum(body), Array(bytes[(bytes.count - 32)...])) else {
            throw VaultError.keyringCorrupted("its checksum does not match")
        }
        self = try body.withUnsafeBytes { buffer in
            do {
                return try Self.parse(buffer)
            } catch VaultError.recordCorrupted {
                throw VaultError.keyringCorrupted("the file is malformed")
            }
        }
        guard !entries.isEmpty else { throw VaultError.keyringCorrupted("it holds no root key") }
    }

    private static func parse(_ buffer: UnsafeRawBufferPointer) throws -> Keyring {
        var reader = RecordReader(buffer, kind: "keyring")
        guard try reader.raw(4) == Self.magic else { throw VaultError.keyringCorrupted("not a keyring file") }
        guard try reader.u8() == Self.version else { throw VaultError.keyringCorrupted("unknown keyring version") }
        let kdfKind = try reader.u8()
        let salt = try reader.raw(PassphraseKDF.saltByteCount)
        let cost = PassphraseKDF.Cost(operations: try reader.u64(), memory: try reader.u64())
        let kdf: KDF
        switch kdfKind {
        case 0: kdf = .keyFile
        case 1: kdf = .argon2id(salt: salt, cost: cost)
        default: throw VaultError.keyringCorrupted("unknown key derivation")
        }
        let storeID = try reader.raw(16)
        let count = Int(try reader.u8())
        let entries = try (0..<count).map { _ in
            Entry(epoch: try reader.u64(), sealedRoot: try reader.raw(AEAD.sealedKeyByteCount))
        }
        try reader.finish()
        return Keyring(kdf: kdf, storeID: storeID, entries: entries)
    }

    /// Derives the key that seals the root keys from `secret`.
    func unlockKey(with secret: UnlockSecret) throws -> SecretKey {
        switch (kdf, secret) {
        case (.keyFile, .keyFile(let path)):
            return try UnlockSecret.loadKeyFile(path)
        case let (.argon2id(salt, cost), .passphrase(passphrase)):
            do {
                return try PassphraseKDF.deriveKey(passphrase: passphrase, salt: salt, cost: cost)
            } catch {
                throw VaultError.unavailable("Argon2id could not run (\(error))")
            }
        case (.keyFile, .passphrase):
            throw VaultError.unlockSecretMissing("this store is unlocked with a key file, not a passphrase")
        case (.argon2id, .keyFile):
            throw VaultError.unlockSecretMissing(
                "this store is unlocked with a passphrase: use --passphrase-file or TVAULT_PASSPHRASE, or run the command on a terminal to be asked for it")
        }
    }

    /// Opens the root key of `epoch`.
    ///
    /// - Throws: ``VaultError/keyringMismatch(_:)`` when the keyring lacks the epoch,
    ///   ``VaultError/wrongUnlockSecret`` when the unlock key does not open it.
    func openRoot(epoch: UInt64, unlockKey: borrowing SecretKey) throws -> SecretKey {
        guard let entry = entries.first(where: { $0.epoch == epoch }) else {
            throw VaultError.keyringMismatch("it does not hold root epoch \(epoch)")
        }
        do {
            return try AEAD.openKey(entry.sealedRoot, using: unlockKey, authenticating: Self.rootAD(storeID: storeID, epoch: epoch))
        } catch {
            throw VaultError.wrongUnlockSecret
        }
    }

    /// Checks that `unlockKey` opens a root of this keyring, before anything else is opened:
    /// a wrong secret must fail with every file left as it was (opening the LMDB environment
    /// may replay its redo log).
    ///
    /// - Throws: ``VaultError/wrongUnlockSecret`` when it opens none.
    func verify(unlockKey: borrowing SecretKey) throws {
        for entry in entries where (try? openRoot(epoch: entry.epoch, unlockKey: unlockKey)) != nil {
            return
        }
        throw VaultError.wrongUnlockSecret
    }

    /// Seals `root` for `epoch` under `unlockKey` as a new entry.
    func sealing(root: borrowing SecretKey, epoch: UInt64, unlockKey: borrowing SecretKey) throws -> Entry {
        Entry(epoch: epoch, sealedRoot: try AEAD.sealKey(root, using: unlockKey, authenticating: Self.rootAD(storeID: storeID, epoch: epoch)))
    }
}
