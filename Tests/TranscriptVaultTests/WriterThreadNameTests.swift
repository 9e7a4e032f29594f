import Foundation
import Testing
import TranscriptTestSupport
import TranscriptVault

/// The writer's thread is named, for `top -H`, `ps -L` and `perf`.
@Suite("Writer thread name")
struct WriterThreadNameTests {
    static func threadNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap { task in
            try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        }.map { $0.trimmingCharacters(in: .newlines) }
    }

    @Test("an open vault has a thread named tvault-writer, and Vault.offload runs on tvault-maint")
    func named() async throws {
        try await withTemporaryDirectory { dir in
            try await withVault(Vault.Configuration(dataDirectory: dir), initialize: true) { vault in
                // The thread names itself once it runs.
                #expect(try await eventually { Self.threadNames().contains("tvault-writer") }, "\(Self.threadNames())")
                let offloaded = try await Vault.offload {
                    ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
                }
                #expect(offloaded == "tvault-maint")
                _ = vault
            }
        }
    }
}
