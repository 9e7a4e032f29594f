import Testing
import TranscriptAPI

/// ``RPCRequest/keeping(messagesPerAppend:)`` takes any limit an embedder may set in
/// ``APILimits`` (a public, settable `Int`), including `Int.max` for "no limit".
@Suite("The server's keeping policy for a very large messages_per_append")
struct RPCRequestKeepingOverflowTests {
    @Test("Int.max messages per append does not trap, and keeps every value")
    func noOverflow() async {
        await #expect(processExitsWith: .success) {
            let keeping = RPCRequest.keeping(messagesPerAppend: .max)
            precondition(keeping.values == .max)
            let near = RPCRequest.keeping(messagesPerAppend: .max - 63)
            precondition(near.values == .max)
        }
        #expect(RPCRequest.keeping(messagesPerAppend: 1000).values == 65_536)
        #expect(RPCRequest.keeping(messagesPerAppend: 100_000).values == 100_064)
    }
}
