import Foundation
import Testing
import TranscriptStorage
import TranscriptTestSupport

@Suite("Directory lock")
struct DirectoryLockTests {
    @Test("a second lock on the same path fails with directoryLocked while the first is held")
    func secondLockFails() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/tvault.lock"
            let lock = try DirectoryLock(path: path)
            withExtendedLifetime(lock) {
                #expect(throws: LMDBError.directoryLocked) {
                    _ = try DirectoryLock(path: path)
                }
                #expect(DirectoryLock.isHeld(path: path))
                #expect(lock.path == path)
            }
        }
    }

    @Test("releasing the lock frees the path for the next owner")
    func releaseFreesPath() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/tvault.lock"
            var lock: DirectoryLock? = try DirectoryLock(path: path)
            #expect(lock != nil)
            #expect(DirectoryLock.isHeld(path: path))
            lock = nil
            #expect(!DirectoryLock.isHeld(path: path))
            let next = try DirectoryLock(path: path)
            withExtendedLifetime(next) {
                #expect(DirectoryLock.isHeld(path: path))
            }
        }
    }

    @Test("isHeld does not take the lock, and a missing file is not held")
    func isHeldIsSideEffectFree() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/tvault.lock"
            #expect(!DirectoryLock.isHeld(path: path))
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            #expect(!DirectoryLock.isHeld(path: path))
            let lock = try DirectoryLock(path: path)
            withExtendedLifetime(lock) {}
        }
    }

    @Test("the lock file is created with mode 0600")
    func lockFileMode() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/tvault.lock"
            let lock = try DirectoryLock(path: path)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode.map { $0 & 0o777 } == 0o600)
            withExtendedLifetime(lock) {}
        }
    }

    @Test("a lock in a missing directory fails with noSuchFile")
    func missingDirectory() throws {
        try withTemporaryDirectory { directory in
            _ = #expect(throws: LMDBError.noSuchFile) {
                _ = try DirectoryLock(path: directory + "/missing/tvault.lock")
            }
        }
    }

    @Test(
        "a lock held by another process is detected, and free again once it exits",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func lockHeldByChildChildProcess() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/tvault.lock"
            let child = ChildProcess()
            child.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            // Take an exclusive lock, announce it, then hold it until our end of stdin closes.
            child.arguments = ["--exclusive", path, "/bin/sh", "-c", "echo locked; exec cat >/dev/null"]
            let input = Pipe()
            let output = Pipe()
            child.standardInput = input
            child.standardOutput = output
            try child.run()
            defer {
                if child.isRunning { child.terminate() }
                child.waitUntilExit()
            }

            // Reading the announcement means the child holds the lock.
            var announced = Data()
            while !announced.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                announced.append(chunk)
            }
            try #require(String(decoding: announced, as: UTF8.self) == "locked\n")

            #expect(DirectoryLock.isHeld(path: path))
            #expect(throws: LMDBError.directoryLocked) {
                _ = try DirectoryLock(path: path)
            }

            try input.fileHandleForWriting.close()
            child.waitUntilExit()
            #expect(child.terminationStatus == 0)
            #expect(!DirectoryLock.isHeld(path: path))
            let lock = try DirectoryLock(path: path)
            withExtendedLifetime(lock) {
                #expect(DirectoryLock.isHeld(path: path))
            }
        }
    }
}
