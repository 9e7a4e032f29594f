/// A shred receipt: proof that a deletion was accepted, and whether its erasure epoch is done.
///
/// `pending` means the records are gone and reads answer not-found, but the keys that once
/// wrapped the data still exist until the next erasure epoch; `erased` means they do not.
///
/// ```swift
/// // {"id":"rcpt_…","status":"pending","target":"conversation"}
/// ```
public struct Receipt: Sendable, Equatable {
    /// Where a shred stands.
    public enum Status: String, Sendable, CaseIterable {
        /// Deleted; the erasure epoch has not completed yet.
        case pending
        /// The erasure epoch has completed: no key able to decrypt the data exists.
        case erased
    }

    /// What a shred removed.
    public enum Target: String, Sendable, CaseIterable {
        /// One conversation (`conversation.delete`).
        case conversation
        /// Every conversation of a subject (`subject.erase`).
        case subject
        /// A whole tenant (the CLI).
        case tenant
        /// The conversations a retention sweep found expired.
        case retention
    }

    /// The receipt id, for `receipt.get`.
    public let id: String
    /// Where the shred stands.
    public let status: Status
    /// What was shredded.
    public let target: Target

    /// Creates a receipt.
    public init(id: String, status: Status, target: Target) {
        self.id = id
        self.status = status
        self.target = target
    }

    init(_ reader: MemberReader) throws(RPCError) {
        id = try reader.required(reader.string("id"), "id")
        guard let status = Status(rawValue: try reader.required(reader.string("status"), "status")) else {
            throw reader.invalid("status", "unknown receipt status")
        }
        guard let target = Target(rawValue: try reader.required(reader.string("target"), "target")) else {
            throw reader.invalid("target", "unknown receipt target")
        }
        self.status = status
        self.target = target
    }

    /// Writes `{"id":…,"status":…,"target":…}`.
    public func write(to writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("id", id)
            writer.member("status", status.rawValue)
            writer.member("target", target.rawValue)
        }
    }
}
