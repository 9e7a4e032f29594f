/// What ``Vault/verify(maxDetails:progress:)`` found: how many records of each kind were
/// opened, and which failed. Positions name records by keyed hashes and numbers, never by
/// content or clear identifiers.
public struct VerifyReport: Sendable, Equatable {
    /// A kind of record that `verify` opens.
    public enum Kind: String, Sendable, CaseIterable {
        /// A tenant record (its encoding).
        case tenant
        /// A tenant KEK version, sealed under the root.
        case kek
        /// A tenant's index key, sealed under the root.
        case indexKey = "index_key"
        /// A conversation record (its encoding and message count).
        case conversation
        /// A conversation's DEK, sealed under a tenant KEK.
        case dek
        /// A conversation's sealed metadata.
        case metadata
        /// One sealed message.
        case message
    }

    /// One record that failed.
    public struct Failure: Sendable, Equatable {
        /// The tenant's name, or `nil` when no tenant owns the record.
        public var tenant: String?
        /// What kind of record.
        public var kind: Kind
        /// The conversation's keyed hash (hex), for conversation-level records.
        public var conversation: String?
        /// The message's sequence number, for messages.
        public var seq: UInt64?
        /// The KEK version, for KEKs.
        public var kekVersion: UInt32?
        /// Which check failed: `unreadable` (the record does not decode), `authentication`
        /// (its seal does not open), `missing_epoch`, `missing_kek`, `key_unavailable` (the key
        /// above it failed), `orphan` (no owner), `count` (message count disagrees).
        public var check: String

        /// A short human-readable position, e.g. `conversation 0a1b…/seq 3`.
        public var position: String {
            var parts: [String] = []
            if let kekVersion { parts.append("kek v\(kekVersion)") }
            if kind == .indexKey { parts.append("index key") }
            if let conversation { parts.append("conversation \(conversation)") }
            if let seq { parts.append("seq \(seq)") }
            return parts.isEmpty ? kind.rawValue : parts.joined(separator: "/")
        }
    }

    /// Tenant records examined.
    public var tenants = 0
    /// Records opened, by kind (tenant records are counted in ``tenants``, not here).
    public var counts: [Kind: Int] = [:]
    /// Records that failed, in total.
    public var failureCount = 0
    /// Records of shredded tenants still waiting to be purged: not opened, because their keys
    /// are destroyed by design, and not failures.
    public var skipped = 0
    /// The first failures, at most the `maxDetails` asked for.
    public var failures: [Failure] = []

    /// Records examined: every key, conversation record and message.
    public var records: Int { counts.values.reduce(0, +) }

    /// Whether some failures were left out of ``failures``.
    public var isTruncated: Bool { failures.count < failureCount }

    /// Whether every record opened.
    public var isIntact: Bool { failureCount == 0 }

    /// An empty report, to be filled by a verify pass.
    public init() {}
}

/// How far a running `verify` has got.
public struct VerifyProgress: Sendable, Equatable {
    /// Records examined so far.
    public var done: Int
    /// Records expected in all (conversations and messages, as counted when it started).
    public var total: Int
}
