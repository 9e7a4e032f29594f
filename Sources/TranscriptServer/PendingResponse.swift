/// A response owed by a connection, in request order.
public enum PendingResponse: Sendable {
    /// Already known (errors, notifications, `auth`, `system.info`).
    case ready([UInt8]?)
    /// Being computed.
    case running(Task<[UInt8]?, Never>)

    /// The response line, once known; `nil` for a notification.
    public var value: [UInt8]? {
        get async {
            switch self {
            case .ready(let bytes): bytes
            case .running(let task): await task.value
            }
        }
    }
}
