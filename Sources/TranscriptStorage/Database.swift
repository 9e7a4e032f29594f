/// A handle to one named LMDB database inside an ``Environment``.
///
/// Handles are opened once, when the environment opens, and stay valid while it is open.
public struct Database: Sendable, Hashable {
    let dbi: UInt32
    /// The database's name in the environment.
    public let name: String
}
