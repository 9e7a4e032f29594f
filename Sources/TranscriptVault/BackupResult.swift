/// What ``Vault/backup(to:)`` wrote.
public struct BackupResult: Sendable, Equatable {
    /// The backup directory, as given.
    public var destination: String
    /// The LMDB environment inside it (`<destination>/store`), to be copied into a data
    /// directory as its `store/` to restore.
    public var store: String
    /// The size of the copy's `data.mdb`.
    public var bytes: Int
    /// The root epoch the copy is sealed under: only a keyring holding this epoch opens it.
    public var epoch: UInt64
    /// The number of the audit record of this backup (also inside the copy).
    public var auditSeq: UInt64
}

/// What ``Vault/compact(_:)`` did.
public struct CompactionResult: Sendable, Equatable {
    /// The size of `store/data.mdb` before.
    public var beforeBytes: Int
    /// The size of `store/data.mdb` after.
    public var afterBytes: Int
}
