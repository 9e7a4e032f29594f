import TranscriptAPI
import TranscriptVault

extension AdminDispatcher {
    /// Maintenance methods: `status`.
    ///
    /// - Returns: the result object's bytes, or `nil` when `method` is not one of them.
    func runMaintenance(method: String, params reader: AdminParams) async throws -> [UInt8]? {
        var out = JSONWriter()
        switch method {
        case "status":
            try reader.allow([])
            let tenants = try vault.tenants()
            out.object { w in
                w.member("data_dir", vault.dataDirectory.path)
                w.member("tenants", tenants.count)
                w.member("version", Dispatcher.version)
            }
        default:
            return nil
        }
        return out.bytes
    }
}
