import Testing
@testable import TranscriptServer

/// When an append may commit on its event loop: only after its connection has appended alone
/// for a while.
@Suite("Sole appender")
struct SoleAppenderTests {
    final class Connection {}

    @Test("a connection appending alone may commit in place once the quiet time has passed")
    func aloneAfterQuietTime() async throws {
        let a = Connection()
        let quick = SoleAppender(quietNanoseconds: 1_000_000)
        #expect(!quick.mayCommitInPlace(ObjectIdentifier(a)), "the first append of a new connection")
        try await Task.sleep(for: .milliseconds(5))
        #expect(quick.mayCommitInPlace(ObjectIdentifier(a)))
        #expect(quick.mayCommitInPlace(ObjectIdentifier(a)))

        let slow = SoleAppender(quietNanoseconds: 3_600_000_000_000)
        for _ in 0..<3 { #expect(!slow.mayCommitInPlace(ObjectIdentifier(a)), "before the quiet time") }
    }

    @Test("another connection's append starts the quiet time again")
    func otherConnectionResets() async throws {
        let a = Connection(), b = Connection()
        let sole = SoleAppender(quietNanoseconds: 1_000_000)
        _ = sole.mayCommitInPlace(ObjectIdentifier(a))
        try await Task.sleep(for: .milliseconds(5))
        #expect(sole.mayCommitInPlace(ObjectIdentifier(a)))
        #expect(!sole.mayCommitInPlace(ObjectIdentifier(b)))
        #expect(!sole.mayCommitInPlace(ObjectIdentifier(a)), "interleaved with b")
        try await Task.sleep(for: .milliseconds(5))
        #expect(sole.mayCommitInPlace(ObjectIdentifier(a)))
        withExtendedLifetime((a, b)) {}
    }
}
