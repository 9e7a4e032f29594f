/// The syntactic rules for names and identifiers on the wire.
///
/// Shared by the server (parameter checks) and the CLI (arguments), so that both refuse the
/// same strings.
///
/// ```swift
/// WireRules.isValidTenant("acme-eu")        // true
/// WireRules.isValidTenant("Acme")           // false
/// WireRules.isValidIdentifier("conv-42")    // true
/// ```
public enum WireRules {
    /// The longest client identifier in UTF-8 bytes.
    public static let maxIdentifierBytes = 256

    /// The longest tenant name in bytes.
    public static let maxTenantBytes = 63

    /// The longest bearer token accepted by `auth`, in bytes.
    public static let maxTokenBytes = 1024

    /// The longest pagination cursor accepted by `conversation.list`, in bytes.
    public static let maxCursorBytes = 1024

    /// Whether `name` matches `[a-z0-9][a-z0-9-]{0,62}`.
    ///
    /// - Parameter name: A tenant name.
    /// - Returns: `true` when it is a valid tenant name.
    public static func isValidTenant(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, utf8.count <= maxTenantBytes, first != UInt8(ascii: "-") else {
            return false
        }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }

    /// Whether `identifier` is a valid conversation id, subject id or idempotency key:
    /// non-empty and at most ``maxIdentifierBytes`` bytes of UTF-8.
    ///
    /// - Parameter identifier: A client-chosen identifier.
    /// - Returns: `true` when it is acceptable.
    public static func isValidIdentifier(_ identifier: String) -> Bool {
        let count = identifier.utf8.count
        return count > 0 && count <= maxIdentifierBytes
    }

    /// A field name fit to send back in `data.field`: at most 64 bytes, cut at a scalar boundary.
    static func fieldName(_ key: String) -> String {
        guard key.utf8.count > 64 else { return key }
        var result = ""
        for scalar in key.unicodeScalars {
            guard result.utf8.count + scalar.utf8.count <= 64 else { break }
            result.unicodeScalars.append(scalar)
        }
        return result
    }
}
