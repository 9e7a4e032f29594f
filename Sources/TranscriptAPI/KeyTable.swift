/// Duplicate-key detection for one object being parsed.
///
/// Small objects (the common case: params, chat messages) are searched linearly; past a
/// threshold a hash set takes over so that an object with many keys stays linear overall.
/// Keys are compared by their UTF-8 bytes, not by Swift's canonical equivalence.
///
/// The table holds the keys itself, so that an object whose members are not kept (see
/// ``StrictJSON/Keeping``) is checked as strictly as one whose members are.
struct KeyTable {
    /// The key count at which the hash set is built.
    static let threshold = 12

    private var keys: [String] = []
    private var index: Set<Key>?

    /// Whether no key has been inserted.
    var isEmpty: Bool { index == nil && keys.isEmpty }

    /// Records `key`; returns false, recording nothing, when it is there already. One hash
    /// of the key, for the check and the record together.
    mutating func insert(_ key: String) -> Bool {
        if index != nil {
            return index!.insert(Key(key)).inserted
        }
        if keys.contains(where: { $0.hasSameUTF8(as: key) }) { return false }
        // One allocation for the linear phase, not one per doubling: every object of a
        // request (the request, its params, each message) has a table.
        if keys.isEmpty { keys.reserveCapacity(Self.threshold) }
        keys.append(key)
        if keys.count >= Self.threshold {
            var set = Set<Key>(minimumCapacity: keys.count * 2)
            for existing in keys {
                set.insert(Key(existing))
            }
            index = set
            keys = []
        }
        return true
    }

    /// A string hashed and compared by its UTF-8 bytes.
    struct Key: Hashable {
        let string: String

        init(_ string: String) {
            self.string = string
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.string.hasSameUTF8(as: rhs.string)
        }

        func hash(into hasher: inout Hasher) {
            var string = string
            string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}
