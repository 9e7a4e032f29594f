internal import Glibc

extension String {
    /// Whether the two strings hold the same UTF-8 bytes. Unlike `==`, which compares by
    /// Unicode canonical equivalence, a precomposed "é" and "e" + U+0301 differ here: JSON keys
    /// and protocol words are matched byte for byte.
    ///
    /// Native strings (every string this module builds) compare with one `memcmp`.
    func hasSameUTF8(as other: String) -> Bool {
        let lhs = utf8
        let rhs = other.utf8
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        let fast = lhs.withContiguousStorageIfAvailable { left in
            rhs.withContiguousStorageIfAvailable { right in
                memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
        if let fast, let equal = fast { return equal }
        return lhs.elementsEqual(rhs)
    }
}
