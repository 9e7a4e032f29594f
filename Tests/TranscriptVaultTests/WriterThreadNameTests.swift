import Foundation
import Testing
import TranscriptTestSupport
import TranscriptVault

/// The writer's thread is named, for `top -H`, `ps -L` and `perf`.
@Suite("Writer thread name")
struct WriterThreadNameTests {
    @Test("an open vault has a thread named tvault-writer, and Vault.offload runs on tvault-maint")
    func named() async throws {
        try await withTemporaryDirectory { dir in
            try await withVault(Vault.Configuration(dataDirectory: dir), initialize: true) { vault in
                // The thread names itself once it runs.
                #expect(try await eventually { processThreadNames().contains("tvault-writer") }, "\(processThreadNames())")
                let offloaded = try await Vault.offload { currentThreadName() }
                #expect(offloaded == "tvault-maint")
                _ = vault
            }
        }
    }
}
