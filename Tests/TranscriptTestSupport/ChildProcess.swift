public import Foundation
import Glibc
import Synchronization

/// A child process started with `posix_spawn`, with the part of `Foundation.Process`'s API the
/// tests use.
///
/// Foundation's `Process.run()` on Linux (swift-corelibs-foundation as shipped with Swift
/// 6.3.1) over-reads a `dirent` while closing inherited descriptors and crashes the test
/// process now and then (swift-corelibs-foundation pull request 5472). This type spawns
/// directly and closes every descriptor above 2 in the child with
/// `posix_spawn_file_actions_addclosefrom_np`, so no LMDB file or lock leaks into a child.
///
/// ```swift
/// let child = ChildProcess()
/// child.executableURL = URL(fileURLWithPath: "/usr/bin/true")
/// try child.run()
/// child.waitUntilExit()
/// ```
public final class ChildProcess: @unchecked Sendable {
    // Invariant for the unchecked Sendable: the configuration is set before `run()` on one
    // thread; the exit state is guarded by `lock`.

    public var executableURL: URL?
    public var arguments: [String] = []
    public var environment: [String: String]?
    /// A `FileHandle` or a `Pipe`, as for `Process`; `nil` inherits the parent's.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    /// Descriptors the child receives as 3, 4, … (as systemd passes sockets); every other
    /// descriptor above 2 is closed in the child.
    public var passedDescriptors: [Int32] = []

    public private(set) var processIdentifier: Int32 = 0
    private let lock = NSLock()
    private var exitState: Int32?

    public init() {}

    /// Starts the child.
    public func run() throws {
        guard let path = executableURL?.path else { throw TestSupportError("no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [FileHandle] = []
        for (stream, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            switch stream {
            case let handle as FileHandle:
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
            case let pipe as Pipe:
                let childEnd = target == 0 ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, childEnd.fileDescriptor, target)
                parentEnds.append(childEnd)
            default:
                break
            }
        }
        // Moved out of the way first, so that a source numbered like a target is not overwritten.
        let moved = passedDescriptors.map { fcntl($0, F_DUPFD_CLOEXEC, 1000) }
        defer { for fd in moved where fd >= 0 { Glibc.close(fd) } }
        guard !moved.contains(-1) else { throw TestSupportError("cannot duplicate a passed descriptor") }
        for (index, fd) in moved.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, 3 + Int32(index))
        }
        _ = closeFrom(&actions, 3 + Int32(moved.count))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentList.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard status == 0 else { throw TestSupportError("cannot start \(path): \(String(cString: strerror(status)))") }
        processIdentifier = pid
        // The child holds its own copies; the parent's ends it gave away must close, or a
        // reader of the pipe never sees end of file.
        for end in parentEnds { try? end.close() }
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitState != nil { return false }
        var status: Int32 = 0
        let result = waitpid(processIdentifier, &status, WNOHANG)
        if result == processIdentifier {
            exitState = status
            return false
        }
        return result == 0
    }

    /// Waits until the child exits.
    public func waitUntilExit() {
        lock.lock()
        defer { lock.unlock() }
        guard exitState == nil else { return }
        var status: Int32 = 0
        while waitpid(processIdentifier, &status, 0) == -1 && errno == EINTR {}
        exitState = status
    }

    /// Sends SIGTERM.
    public func terminate() {
        kill(processIdentifier, SIGTERM)
    }

    /// The exit code, or the signal number when a signal ended the child.
    public var terminationStatus: Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard let status = exitState else { return 0 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether the child exited or was ended by a signal.
    public var terminationReason: Process.TerminationReason {
        lock.lock()
        defer { lock.unlock() }
        guard let status = exitState else { return .exit }
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }
}

/// A child process could not be started, or a socket not connected.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module map hides.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32

/// A child started with its standard output and error piped to the test, and a watchdog that
/// kills it with SIGKILL after a deadline: only against a hang, never a result to assert on.
///
/// ```swift
/// let child = try WatchedChild(binary: path, arguments: [dir], killAfter: 120)
/// let output = child.stdout.fileHandleForReading.readDataToEndOfFile()
/// child.waitUntilExit()
/// ```
public final class WatchedChild: @unchecked Sendable {
    // Invariant for the unchecked Sendable: every property is set in init and never changes;
    // the watchdog's flag is atomic.

    public let process = ChildProcess()
    public let stdout = Pipe()
    public let stderr = Pipe()
    private let watchdog: DispatchWorkItem
    private let fired: Flag

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Starts `binary` with `arguments` and `environment` (`nil`: the test's own).
    public init(binary: String, arguments: [String], environment: [String: String]? = nil, killAfter seconds: Double) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let pid = process.processIdentifier
        let fired = Flag()
        self.fired = fired
        watchdog = DispatchWorkItem {
            fired.value.store(true, ordering: .relaxed)
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
    }

    deinit { watchdog.cancel() }

    /// Waits until the child exits, and stops the watchdog.
    public func waitUntilExit() {
        process.waitUntilExit()
        watchdog.cancel()
    }

    /// Whether the watchdog killed the child.
    public var watchdogFired: Bool { fired.value.load(ordering: .relaxed) }
}
