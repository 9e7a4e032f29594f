import Synchronization

/// The tokens revoked since a store was opened, and how many: what connections that
/// authenticated before a revocation check their grant against (see ``Vault/isRevoked(_:)``).
/// Tokens revoked before the open need no entry: `authenticate` refuses them.
final class TokenRevocations: Sendable {
    private let ids = Mutex<Set<String>>([])
    private let added = Atomic<UInt64>(0)

    /// Records `id` as revoked; called once the revocation is committed.
    func add(_ id: String) {
        ids.withLock { _ = $0.insert(id) }
        // After the insertion: whoever sees the new count finds the id.
        added.add(1, ordering: .releasing)
    }

    var count: UInt64 { added.load(ordering: .acquiring) }

    func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }
}
