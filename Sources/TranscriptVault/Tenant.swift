/// What the engine tells about a tenant. No key material.
public struct Tenant: Sendable, Equatable {
    /// The tenant's state.
    public enum State: String, Sendable {
        case active
        case shredScheduled = "shred_scheduled"
        case shredded
    }

    /// The tenant's name.
    public var name: String
    /// Whether it is usable.
    public var state: State
    /// When it was created, in milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// The KEK version new DEKs are wrapped under.
    public var kekVersion: UInt32
    /// The root epoch its keys are sealed under.
    public var epoch: UInt64
    /// The default retention in days, or `nil` for none.
    public var retentionDays: Int?

    init(_ record: TenantRecord) {
        name = record.name
        state = switch record.state {
        case .active: .active
        case .shredScheduled: .shredScheduled
        case .shredded: .shredded
        }
        createdAt = record.createdAt
        kekVersion = record.currentKEK
        epoch = record.epoch
        retentionDays = record.retentionDays < 0 ? nil : Int(record.retentionDays)
    }
}
