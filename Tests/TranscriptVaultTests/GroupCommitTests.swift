import Foundation
import Testing
@testable import TranscriptVault

/// Concurrent appends are batched into shared transactions; a failing append fails alone.
@Suite("Group commit")
struct GroupCommitTests {
    @Test("64 concurrent appends to one conversation all succeed with distinct seqs")
    func oneConversation() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                let gate = try await WriterGate(vault.writer)
                let results = try await withThrowingTaskGroup(of: (Int, AppendResult).self) { group in
                    for index in 0..<64 {
                        group.addTask {
                            (index, try await vault.append(AppendRequest(
                                tenant: "acme", conversationID: "shared", messages: [sampleMessage("g", index)])))
                        }
                    }
                    try await Task.sleep(for: .milliseconds(50))
                    gate.open()
                    return try await group.reduce(into: [Int: AppendResult]()) { $0[$1.0] = $1.1 }
                }
                try await gate.passed()
                #expect(results.count == 64)
                #expect(Set(results.values.map(\.firstSeq)) == Set(1...64))
                #expect(results.values.allSatisfy { $0.firstSeq == $0.lastSeq })
                let stored = try readAll(vault, tenant: "acme", conversation: "shared")
                #expect(stored.count == 64)
                for (index, result) in results {
                    #expect(stored[Int(result.firstSeq) - 1].message == sampleMessage("g", index), "append \(index) got another's seq")
                }
            }
        }
    }

    @Test("64 concurrent appends to 64 new conversations all commit")
    func manyConversations() async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<64 {
                        group.addTask {
                            let result = try await vault.append(AppendRequest(
                                tenant: "acme", conversationID: "c\(index)", messages: [sampleMessage("c", index), sampleMessage("c", -index)],
                                subjectID: "s\(index % 4)"))
                            #expect(result.firstSeq == 1 && result.lastSeq == 2)
                        }
                    }
                    try await group.waitForAll()
                }
                for index in 0..<64 {
                    #expect(try vault.read(tenant: "acme", conversationID: "c\(index)").messages.map(\.message)
                            == [sampleMessage("c", index), sampleMessage("c", -index)])
                }
                #expect(try vault.list(tenant: "acme", query: ListQuery(limit: 1000)).conversations.count == 64)
                #expect(try vault.list(tenant: "acme", query: ListQuery(subjectID: "s1")).conversations.count == 16)
            }
        }
    }

    enum BadAppend: String, CaseIterable, CustomTestStringConvertible {
        case missingTenant, subjectMismatch, idempotencyConflict
        var testDescription: String { rawValue }
    }

    @Test("a bad append among good ones fails alone while the others commit", arguments: BadAppend.allCases)
    func badAppendFailsAlone(bad: BadAppend) async throws {
        try await withTemporaryDirectory { dir in
            try await withNewVault(dir) { vault in
                _ = try await vault.append(AppendRequest(
                    tenant: "acme", conversationID: "owned", messages: [bytes("{}")], subjectID: "owner", idempotencyKey: "used"))
                let badRequest = switch bad {
                case .missingTenant: AppendRequest(tenant: "ghost", conversationID: "c", messages: [bytes("{}")])
                case .subjectMismatch: AppendRequest(tenant: "acme", conversationID: "owned", messages: [bytes("{}")], subjectID: "intruder")
                case .idempotencyConflict: AppendRequest(tenant: "acme", conversationID: "owned", messages: [bytes(#"{"x":1}"#)], idempotencyKey: "used")
                }
                let gate = try await WriterGate(vault.writer)
                let outcomes = await withTaskGroup(of: (Int, Result<AppendResult, any Error>).self) { group in
                    for index in 0..<33 {
                        group.addTask {
                            let request = index == 16 ? badRequest : AppendRequest(
                                tenant: "acme", conversationID: "c\(index % 4)", messages: [sampleMessage("good", index)])
                            do { return (index, .success(try await vault.append(request))) } catch { return (index, .failure(error)) }
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                    gate.open()
                    return await group.reduce(into: [Int: Result<AppendResult, any Error>]()) { $0[$1.0] = $1.1 }
                }
                try await gate.passed()

                for (index, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                    switch (index, outcome) {
                    case (16, .success):
                        Issue.record("the bad append succeeded")
                    case (16, .failure(let error)):
                        let vaultError = try #require(error as? VaultError)
                        switch bad {
                        case .missingTenant: #expect(vaultError == .notFound)
                        case .subjectMismatch:
                            guard case .invalidArgument(field: "subject_id", _) = vaultError else {
                                Issue.record("expected invalidArgument(subject_id), got \(vaultError)")
                                break
                            }
                        case .idempotencyConflict: #expect(vaultError == .conflict)
                        }
                    case (_, .failure(let error)):
                        Issue.record("good append \(index) failed: \(error)")
                    case (_, .success):
                        break
                    }
                }
                var stored: [[UInt8]] = []
                for conversation in 0..<4 {
                    stored += try readAll(vault, tenant: "acme", conversation: "c\(conversation)").map(\.message)
                }
                let good = (0..<33).filter { $0 != 16 }.map { sampleMessage("good", $0) }
                #expect(Set(stored) == Set(good))
                #expect(stored.count == good.count)
                #expect(try readAll(vault, tenant: "acme", conversation: "owned").count == 1)
                #expect(try vault.tenants().map(\.name) == ["acme"])
            }
        }
    }
}
