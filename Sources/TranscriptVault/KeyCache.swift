import Synchronization

/// A bounded cache of unwrapped keys (DEKs), zeroed on eviction.
///
/// Two generations approximate LRU at O(1) cost: hits in the old generation move to the new
/// one; when the new one fills half the capacity, the old one is dropped whole, which frees
/// (and so zeroes, through `sodium_free`) every key only it held.
final class KeyCache: Sendable {
    private struct Generations {
        var young: [[UInt8]: KeyBox] = [:]
        var old: [[UInt8]: KeyBox] = [:]
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

    func insert(_ box: KeyBox, for key: [UInt8]) {
        guard capacity > 0 else { return }
        state.withLock { Self.insert(box, for: key, into: &$0, capacity: capacity) }
    }

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
        }
    }

    /// The number of keys held.
    var count: Int { state.withLock { $0.young.count + $0.old.count } }
}
