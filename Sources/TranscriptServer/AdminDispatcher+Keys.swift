import TranscriptAPI
import TranscriptVault

extension AdminDispatcher {
    /// Key rotation and shredding methods.
    ///
    /// - Returns: the result object's bytes, or `nil` when `method` is not one of them.
    func runKeys(method: String, params reader: AdminParams) async throws -> [UInt8]? {
        switch method {
        default:
            return nil
        }
    }
}
