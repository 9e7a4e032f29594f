/// Tenant names: `[a-z0-9][a-z0-9-]{0,62}` (DESIGN §5).
public enum TenantName {
    /// Whether `name` is a valid tenant name.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let alnum = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            if !(alnum || (index > 0 && byte == UInt8(ascii: "-"))) { return false }
        }
        return true
    }

    static func validate(_ name: String) throws {
        guard isValid(name) else {
            throw VaultError.invalidArgument(field: "tenant", reason: "must match [a-z0-9][a-z0-9-]{0,62}")
        }
    }
}
