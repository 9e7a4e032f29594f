import Foundation
import Glibc
import Testing
@testable import TranscriptServer
import TranscriptTestSupport

/// How a socket file is put in place: never reachable by others with a wider mode than its own,
/// whatever the umask, and nothing left behind.
@Suite("Socket files")
struct SocketFileTests {
    /// What the bind step saw.
    struct Seen: Sendable {
        var temporary = ""
        var directoryMode: mode_t = 0
        var directoryOwner: uid_t = 0
        var socketMode: mode_t = 0
    }

    @Test("bound in a fresh 0700 directory, then given its mode and moved into place; the directory is gone")
    func placedWithoutWindow() async throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Made wide on purpose: the mode the socket gets at bind depends on the umask, and the
        // directory around it is what keeps others out until it has its own mode.
        #expect(chmod(directory, 0o777) == 0)
        let path = directory + "/c.sock"
        var seen = Seen()
        let fd = try await SocketFile.place(path, mode: 0o660, bind: { temporary in
            let fd = try Self.listen(at: temporary)
            fchmod(fd, 0o777)
            seen.temporary = temporary
            seen.directoryMode = try Self.fileStatus(SocketFile.directory(of: temporary)).st_mode & 0o7777
            seen.directoryOwner = try Self.fileStatus(SocketFile.directory(of: temporary)).st_uid
            seen.socketMode = try Self.fileStatus(temporary).st_mode & S_IFMT
            return fd
        }, close: { Glibc.close($0) })
        defer { Glibc.close(fd) }

        #expect(seen.temporary != path)
        #expect(SocketFile.directory(of: seen.temporary) != directory, "bound directly in the socket's directory")
        #expect(SocketFile.directory(of: SocketFile.directory(of: seen.temporary)) == directory)
        #expect(seen.directoryMode == 0o700)
        #expect(seen.directoryOwner == getuid())
        #expect(seen.socketMode == S_IFSOCK)
        let placed = try Self.fileStatus(path)
        #expect(placed.st_mode & S_IFMT == S_IFSOCK)
        #expect(placed.st_mode & 0o7777 == 0o660)
        #expect(access(seen.temporary, F_OK) != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["c.sock"])
        #expect(SocketFile.isLive(path))
    }

    @Test("a failing bind leaves nothing behind and puts nothing in place")
    func failedBindLeavesNothing() async throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/c.sock"
        await #expect(throws: HarnessError.self) {
            _ = try await SocketFile.place(path, mode: 0o660, bind: { temporary -> Int32 in
                Glibc.close(try Self.listen(at: temporary))   // bound, then the step fails
                throw HarnessError("bind failed")
            }, close: { Glibc.close($0) })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test("a path whose temporary name would not fit a sockaddr_un is refused before anything is made")
    func tooLongForTheTemporaryName() throws {
        let directory = "/tmp/" + String(repeating: "d", count: SocketFile.maxPathBytes - 5 - 10)
        let path = directory + "/x"
        #expect(path.utf8.count <= SocketFile.maxPathBytes)
        #expect(throws: ServerError.self) { try SocketFile.check(path) }
        #expect(throws: ServerError.self) { try SocketFile.check(String(repeating: "p", count: SocketFile.maxPathBytes + 1)) }
        #expect(throws: Never.self) { try SocketFile.check("/tmp/tvault.sock") }
    }

    /// A listening Unix socket bound at `path`.
    static func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 8) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HarnessError("bind \(path): \(message)")
        }
        return fd
    }

    static func fileStatus(_ path: String) throws -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw HarnessError("stat \(path): \(String(cString: strerror(errno)))") }
        return info
    }
}
