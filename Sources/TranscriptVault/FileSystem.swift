internal import Glibc

/// The few file-system questions the engine asks.
enum FileSystem {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
