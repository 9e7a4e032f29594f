import Synchronization

/// A bounded cache of unwrapped keys (DEKs), zeroed on eviction.
///
/// Two generations approximate LRU at O(1) cost: hits in the old generation move to the new
/// one; when the new one fills half the capacity, the old one is dropped whole, which frees
/// (and so zeroes, through `sodium_free`) every key only it held.
///
/// A reader whose snapshot predates a shred may unwrap the shredded key after the shred
/// evicted it. It still uses the key for its own answer, but it must not put the key back:
/// a reader takes ``purges`` before opening its snapshot and inserts only if no eviction came
/// since (``insert(_:for:unlessPurgedSince:)``), checked under the same lock as evictions.
final class KeyCache: Sendable {
    private struct Generations {
        var young: [[UInt8]: KeyBox] = [:]
        var old: [[UInt8]: KeyBox] = [:]
        var purges: UInt64 = 0
    }

    private let state = Mutex(Generations())
    /// The most keys held at once.
    let capacity: Int

    init(capacity: Int) { self.capacity = max(capacity, 0) }

    func lookup(_ key: [UInt8]) -> KeyBox? {
        guard capacity > 0 else { return nil }
        return state.withLock { gens in
            if let box = gens.young[key] { return box }
            guard let box = gens.old.removeValue(forKey: key) else { return nil }
            Self.insert(box, for: key, into: &gens, capacity: capacity)
            return box
        }
    }

    /// Caches `box` under `key`; with `mark`, only if no eviction came after ``purges`` was
    /// `mark` (for a reader whose snapshot may predate the eviction).
    func insert(_ box: KeyBox, for key: [UInt8], unlessPurgedSince mark: UInt64? = nil) {
        guard capacity > 0 else { return }
        state.withLock { gens in
            if let mark, gens.purges != mark { return }
            Self.insert(box, for: key, into: &gens, capacity: capacity)
        }
    }

    /// How many evictions came so far: for ``insert(_:for:unlessPurgedSince:)``.
    var purges: UInt64 { state.withLock { $0.purges } }

    private static func insert(_ box: KeyBox, for key: [UInt8], into gens: inout Generations, capacity: Int) {
        gens.young[key] = box
        if gens.young.count >= max(capacity / 2, 1) {
            gens.old = gens.young
            gens.young = [:]
        }
    }

    /// Drops every key whose cache key starts with `prefix` (a tenant, or a conversation).
    func removeAll(withPrefix prefix: [UInt8]) {
        state.withLock { gens in
            gens.young = gens.young.filter { !$0.key.starts(with: prefix) }
            gens.old = gens.old.filter { !$0.key.starts(with: prefix) }
            gens.purges &+= 1
        }
    }

    /// The number of keys held.
    var count: Int { state.withLock { $0.young.count + $0.old.count } }
}

/// The unwrapped keys of active tenants, by tenant number, with the same rule as ``KeyCache``
/// for readers whose snapshot may predate an eviction (a tenant shred, a finished KEK rotation).
final class TenantKeyCache: Sendable {
    private struct Entries {
        var keys: [UInt32: TenantKeys] = [:]
        var purges: UInt64 = 0
    }

    private let state = Mutex(Entries())

    func lookup(_ tenant: UInt32) -> TenantKeys? {
        state.withLock { $0.keys[tenant] }
    }

    /// Caches `keys`; with `mark`, only if no eviction came after ``purges`` was `mark`.
    func insert(_ keys: TenantKeys, for tenant: UInt32, unlessPurgedSince mark: UInt64? = nil) {
        state.withLock { entries in
            if let mark, entries.purges != mark { return }
            entries.keys[tenant] = keys
        }
    }

    /// Drops a tenant's keys (they are released, and zeroed, once no caller holds them).
    func remove(_ tenant: UInt32) {
        state.withLock { entries in
            entries.keys[tenant] = nil
            entries.purges &+= 1
        }
    }

    /// How many evictions came so far.
    var purges: UInt64 { state.withLock { $0.purges } }
}
