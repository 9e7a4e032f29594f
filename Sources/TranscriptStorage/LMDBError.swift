internal import CTranscriptLMDB
internal import Glibc

/// The one error type of ``TranscriptStorage``: an LMDB return code or a system `errno`.
///
/// Callers match the named constants: `catch LMDBError.mapFull`. `MDB_NOTFOUND` is never thrown
/// by a lookup (a missing key is `nil`); it appears only where a caller asked for a key to exist.
public struct LMDBError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The LMDB status code, or an `errno` value for system failures.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    public static let pageNotFound = LMDBError(code: MDB_PAGE_NOTFOUND)
    public static let corrupted = LMDBError(code: MDB_CORRUPTED)
    public static let panic = LMDBError(code: MDB_PANIC)
    public static let versionMismatch = LMDBError(code: MDB_VERSION_MISMATCH)
    public static let invalid = LMDBError(code: MDB_INVALID)
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    public static let databasesFull = LMDBError(code: MDB_DBS_FULL)
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    public static let transactionFull = LMDBError(code: MDB_TXN_FULL)
    public static let cursorFull = LMDBError(code: MDB_CURSOR_FULL)
    public static let pageFull = LMDBError(code: MDB_PAGE_FULL)
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    public static let incompatible = LMDBError(code: MDB_INCOMPATIBLE)
    public static let badReaderSlot = LMDBError(code: MDB_BAD_RSLOT)
    public static let badTransaction = LMDBError(code: MDB_BAD_TXN)
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
    public static let badDatabase = LMDBError(code: MDB_BAD_DBI)
    /// The disk is full (`ENOSPC`).
    public static let diskFull = LMDBError(code: ENOSPC)
    /// Another process holds the data directory's lock file.
    public static let directoryLocked = LMDBError(code: EWOULDBLOCK)
    /// A path was missing (`ENOENT`).
    public static let noSuchFile = LMDBError(code: ENOENT)
    /// Permission was denied (`EACCES`).
    public static let permissionDenied = LMDBError(code: EACCES)

    /// Throws unless `status` is `MDB_SUCCESS`. Every LMDB call goes through here.
    @inline(__always)
    public static func check(_ status: Int32) throws {
        if status != 0 { throw LMDBError(code: status) }
    }

    /// Lets a `catch` clause name a constant: `catch LMDBError.mapFull { … }`.
    public static func ~= (pattern: LMDBError, error: any Error) -> Bool {
        (error as? LMDBError) == pattern
    }

    /// The failure as a sentence, never containing keys or values.
    public var description: String {
        if self == .directoryLocked { return "the data directory is locked by another process" }
        if self == .mapFull { return "the LMDB map is full" }
        return String(cString: mdb_strerror(code))
    }
}
