internal import Glibc

/// The files of one data directory (see DESIGN §7):
/// `store/` (LMDB), `keyring`, `unlock.key`, `tvault.sock`, `admin.sock` and `tvault.lock`.
public struct DataDirectory: Sendable, Equatable {
    /// The directory itself.
    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The LMDB environment's directory.
    public var store: String { path + "/store" }
    /// The keyring file: the sealed root key(s).
    public var keyring: String { path + "/keyring" }
    /// The default unlock key file, used when no other unlock secret is configured.
    public var unlockKey: String { path + "/unlock.key" }
    /// The client socket.
    public var socket: String { path + "/tvault.sock" }
    /// The admin socket.
    public var adminSocket: String { path + "/admin.sock" }
    /// The lock file that makes one process the owner of the directory.
    public var lockFile: String { path + "/tvault.lock" }

    /// Whether an initialised store seems to be here (a keyring file exists).
    public var isInitialized: Bool { access(keyring, F_OK) == 0 }
    /// Whether an LMDB environment is here (`store/data.mdb`), with or without its keyring.
    public var holdsStore: Bool { access(store + "/data.mdb", F_OK) == 0 }
    /// What to tell someone who names this directory when it holds no store.
    public var noStoreMessage: String { "no store in \(path) (create one with tvault init or tvault serve)" }

    /// Creates the directory with mode 0700 when missing.
    func create() throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw VaultError.unavailable("cannot create the data directory (\(String(cString: strerror(errno))))")
        }
    }
}

internal import TranscriptStorage

extension DataDirectory {
    /// Whether another process (a running server) owns the directory right now.
    public var isOwnedByAnotherProcess: Bool { DirectoryLock.isHeld(path: lockFile) }
}
