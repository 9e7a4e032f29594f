/// Duplicate-key detection for one object being parsed.
///
/// Small objects (the common case: params, chat messages) are searched linearly; past a
/// threshold a hash set takes over so that an object with many keys stays linear overall.
/// Keys are compared by their UTF-8 bytes, not by Swift's canonical equivalence.
struct KeyTable {
    /// The member count at which the hash set is built.
    static let threshold = 12

    private var index: Set<Key>?

    /// Whether `key` is already among `members` (whose keys this table has seen).
    func contains(_ key: String, in members: [JSONObject.Member]) -> Bool {
        if let index {
            return index.contains(Key(key))
        }
        return members.contains { $0.key.hasSameUTF8(as: key) }
    }

    /// Records `key`, which is about to be appended after `existing`.
    mutating func insert(_ key: String, existing: [JSONObject.Member]) {
        if index != nil {
            index?.insert(Key(key))
        } else if existing.count + 1 >= Self.threshold {
            var set = Set<Key>(minimumCapacity: existing.count * 2 + 2)
            for member in existing {
                set.insert(Key(member.key))
            }
            set.insert(Key(key))
            index = set
        }
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
