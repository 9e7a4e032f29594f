/// Figures about a store, computed by scanning its records: never content, never keys.
///
/// ```swift
/// let stats = try vault.stats()
/// print(stats.tenants.count, stats.conversations, stats.messages, stats.mapUsed)
/// ```
public struct StoreStats: Sendable, Equatable {
    /// Figures about one tenant.
    public struct TenantStats: Sendable, Equatable {
        /// The tenant's name.
        public var name: String
        /// Its state.
        public var state: Tenant.State
        /// The root epoch its keys are sealed under.
        public var epoch: UInt64
        /// The KEK version new DEKs are wrapped under.
        public var kekVersion: UInt32
        /// Every KEK version it holds (more than one while a rotation is under way).
        public var kekVersions: [UInt32]
        /// Conversations, by the KEK version their DEK is wrapped under.
        public var conversationsByKEKVersion: [UInt32: Int]
        /// Conversations.
        public var conversations: Int
        /// Messages.
        public var messages: UInt64
        /// Bytes of messages as the clients sent them.
        public var bytes: UInt64
    }

    /// The store's root epoch.
    public var epoch: UInt64
    /// Every tenant, in name order.
    public var tenants: [TenantStats]
    /// Conversations of all tenants.
    public var conversations: Int
    /// Messages of all tenants.
    public var messages: UInt64
    /// Bytes of messages as the clients sent them.
    public var bytes: UInt64
    /// Tokens, revoked ones included.
    public var tokens: Int
    /// Records in the audit log.
    public var auditRecords: Int
    /// The size of the LMDB memory map.
    public var mapSize: Int
    /// The bytes of the map in use (up to the last used page).
    public var mapUsed: Int
    /// LMDB's page size.
    public var pageSize: Int
    /// The size of `store/data.mdb` on disk.
    public var fileBytes: Int
}

/// What `tvault status` tells about an open store.
public struct StoreStatus: Sendable, Equatable {
    /// The store's root epoch.
    public var epoch: UInt64
    /// Tenants, in every state.
    public var tenants: Int
    /// Records in the audit log.
    public var auditRecords: Int
}
