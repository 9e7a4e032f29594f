internal import NIOCore
internal import Glibc

/// `SO_PEERCRED` checks for the admin socket.
enum PeerCredentials {
    /// Whether the peer of `channel` runs as this process's effective user.
    static func isOwner(_ channel: any Channel) async -> Bool {
        guard let provider = channel as? any SocketOptionProvider else { return false }
        do {
            let credentials: PeerCredential = try await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
            return credentials.uid == geteuid()
        } catch {
            return false
        }
    }
}

/// The layout of Linux's `struct ucred`, which Glibc's module map hides behind `_GNU_SOURCE`.
struct PeerCredential: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
