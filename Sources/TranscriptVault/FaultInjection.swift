internal import Glibc

/// Crash points for tests of crash safety: with `TVAULT_FAULT=<step>` in the environment of a
/// debug build, the process kills itself with SIGKILL when it reaches that step. Release builds
/// ignore it, so production never crashes on purpose.
enum FaultInjection {
    #if DEBUG
    static let armed: String? = getenv("TVAULT_FAULT").map { String(cString: $0) }
    #endif

    /// Dies here if the environment asks for it.
    @inline(__always)
    static func point(_ step: String) {
        #if DEBUG
        if let armed, armed == step {
            kill(getpid(), SIGKILL)
        }
        #endif
    }
}
