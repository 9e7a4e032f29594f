import Foundation
import Glibc
import Testing
import TranscriptCrypto
import TranscriptStorage
@testable import TranscriptVault
import TranscriptTestSupport

/// Crash safety of key management (issue 5): a child process (Tools/faults) runs a scenario
/// with `TVAULT_FAULT=<step>` and dies by SIGKILL at that step; the test then reopens the store
/// and checks that it opens, that no key is lost (every surviving conversation reads
/// byte-exact), that rotations resume and epochs complete, and that a shred reported done
/// stays done and ends `erased`.
@Suite("Crash safety of rotations, shreds and epochs")
struct FaultCrashTests {
    /// The debug build of `tvault-faults`.
    static func faultsBinary() throws -> String {
        if let path = builtProduct("tvault-faults") { return path }
        Issue.record("tvault-faults is not built: run `swift build` before `swift test`")
        throw CancellationError()
    }

    /// How a run of the child ended and what it reported.
    struct ChildRun: Sendable {
        var lines: [String]
        var killed: Bool
        var status: Int32
        var stderr: String

        var receipts: [String] { lines.filter { $0.hasPrefix("receipt ") }.map { String($0.dropFirst(8)) } }
    }

    /// Runs the child to its end (or its death) off the cooperative pool.
    static func runChild(_ arguments: [String], fault: String?) async throws -> ChildRun {
        let binary = try faultsBinary()
        return try await offload {
            var environment = ProcessInfo.processInfo.environment
            environment["TVAULT_FAULT"] = fault
            let child = try WatchedChild(binary: binary, arguments: arguments, environment: environment, killAfter: 120)
            let output = child.stdout.fileHandleForReading.readDataToEndOfFile()
            let errors = child.stderr.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            return ChildRun(
                lines: String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init),
                killed: child.process.terminationReason == .uncaughtSignal && child.process.terminationStatus == SIGKILL,
                status: child.process.terminationStatus,
                stderr: String(decoding: errors, as: UTF8.self))
        }
    }

    /// The store every case starts from: tenant `acme` with a victim conversation, a subject of
    /// two conversations and six others; tenant `doomed` with three.
    struct World: Sendable {
        let subject: String
        let victim = Fixture.canary(tenant: "acme", label: "crash-victim")
        let subjectConversations: [Fixture]
        let acme: [Fixture]
        let doomed: [Fixture]

        init() {
            let subject = "crash-subject-\(token())"
            self.subject = subject
            subjectConversations = (0..<2).map { Fixture.canary(tenant: "acme", label: "crash-subject\($0)", subject: subject) }
            acme = (0..<6).map { Fixture.canary(tenant: "acme", label: "crash-keep\($0)", subject: $0 == 0 ? "another-\(token())" : nil) }
            doomed = (0..<3).map { Fixture.canary(tenant: "doomed", label: "crash-doomed\($0)") }
        }

        var all: [Fixture] { [victim] + subjectConversations + acme + doomed }

        func build(_ directory: String) async throws {
            try await withErasureVault(directory, initialize: true) { vault in
                for tenant in ["acme", "doomed"] { _ = try await vault.createTenant(tenant) }
                for fixture in all { try await vault.store(fixture) }
            }
        }
    }

    enum Scenario: String, Sendable {
        case kekRotate = "kek-rotate"
        case rootRotate = "root-rotate"
        case shredEpoch = "shred-epoch"
        case subjectEpoch = "subject-epoch"
        case tenantShred = "tenant-shred"

        func arguments(_ world: World) -> [String] {
            switch self {
            case .kekRotate: [rawValue, "acme", "2"]
            case .rootRotate: [rawValue]
            case .shredEpoch: [rawValue, "acme", world.victim.id]
            case .subjectEpoch: [rawValue, "acme", world.subject]
            case .tenantShred: [rawValue, "doomed"]
            }
        }

        /// What the scenario deletes, once it got that far.
        func targets(_ world: World) -> [Fixture] {
            switch self {
            case .kekRotate, .rootRotate: []
            case .shredEpoch: [world.victim]
            case .subjectEpoch: world.subjectConversations
            case .tenantShred: world.doomed
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var scenario: Scenario
        var fault: String?
        var testDescription: String { "\(scenario.rawValue) @ \(fault ?? "no fault")" }
    }

    static let cases: [Case] = [
        Case(scenario: .kekRotate, fault: nil),
        Case(scenario: .kekRotate, fault: "kek.started"),
        Case(scenario: .kekRotate, fault: "kek.batch"),
        Case(scenario: .rootRotate, fault: nil),
        Case(scenario: .rootRotate, fault: "root.keyring-both"),
        Case(scenario: .rootRotate, fault: "root.committed"),
        Case(scenario: .rootRotate, fault: "root.keyring-final"),
        Case(scenario: .rootRotate, fault: "root.keyring-both.linked"),
        Case(scenario: .rootRotate, fault: "root.keyring-both.renamed"),
        Case(scenario: .rootRotate, fault: "root.keyring-final.linked"),
        Case(scenario: .rootRotate, fault: "root.keyring-final.renamed"),
        Case(scenario: .shredEpoch, fault: nil),
        Case(scenario: .shredEpoch, fault: "kek.started"),
        Case(scenario: .shredEpoch, fault: "kek.batch"),
        Case(scenario: .shredEpoch, fault: "epoch.kek-done"),
        Case(scenario: .shredEpoch, fault: "root.keyring-both"),
        Case(scenario: .shredEpoch, fault: "root.committed"),
        Case(scenario: .shredEpoch, fault: "root.keyring-final"),
        Case(scenario: .shredEpoch, fault: "root.keyring-final.renamed"),
        Case(scenario: .subjectEpoch, fault: "kek.started"),
        Case(scenario: .subjectEpoch, fault: "root.committed"),
        Case(scenario: .tenantShred, fault: nil),
        Case(scenario: .tenantShred, fault: "tenant.keys-deleted"),
        Case(scenario: .tenantShred, fault: "epoch.kek-done"),
        Case(scenario: .tenantShred, fault: "root.keyring-both"),
        Case(scenario: .tenantShred, fault: "root.committed"),
        Case(scenario: .tenantShred, fault: "root.keyring-final"),
    ]

    @Test("a kill at each step leaves a store that opens with every key, resumes, and keeps shreds done", arguments: cases)
    func killAtStep(_ testCase: Case) async throws {
        try await withScratchDirectory { scratch in
            let directory = scratch + "/data"
            let world = World()
            try await world.build(directory)

            let run = try await Self.runChild([directory] + testCase.scenario.arguments(world), fault: testCase.fault)
            if testCase.fault != nil {
                try #require(run.killed, "the child did not die at \(testCase.fault!): status \(run.status), output \(run.lines), stderr \(run.stderr)")
            } else {
                try #require(run.status == 0 && run.lines.last == "done", "status \(run.status), output \(run.lines), stderr \(run.stderr)")
            }
            #expect(run.lines.first == "opened")
            let targets = Set(testCase.scenario.targets(world))
            let reported = run.receipts
            // In every scenario that shreds, the shred commits before any fault step but one
            // (tenant.keys-deleted fires inside the tenant shred, before it returns).
            if !targets.isEmpty && testCase.fault != "tenant.keys-deleted" {
                #expect(reported.count == 1, "the shred was not reported done: \(run.lines)")
            }

            try await withErasureVault(directory) { vault in
                // It opened: the keyring is down to the store's epoch, nothing extra.
                let keyring = try Keyring.load(path: vault.dataDirectory.keyring)
                #expect(keyring.entries.map(\.epoch) == [vault.epoch])
                let shredHappened = !reported.isEmpty || testCase.fault == "tenant.keys-deleted"
                // No key lost: everything not shredded reads byte-exact, before any repair.
                for fixture in world.all where !(shredHappened && targets.contains(fixture)) {
                    vault.expectIntact(fixture)
                }
                // A shred reported done (or committed) stays done.
                if shredHappened {
                    if testCase.scenario == .tenantShred {
                        #expect(try vault.tenant(named: "doomed").state == .shredded)
                        for fixture in targets {
                            #expect(throws: VaultError.tenantShredded) { try vault.read(tenant: "doomed", conversationID: fixture.id) }
                        }
                    } else {
                        for fixture in targets { vault.expectGone(fixture) }
                    }
                }
                for id in reported { _ = try vault.receipt(id: id) }

                // Repair: what a restarted server runs.
                let resumed = try await vault.resumeRotations()
                // An epoch killed right after it started its KEK rotation leaves it unfinished too.
                if (testCase.scenario == .kekRotate && testCase.fault != nil) || testCase.fault == "kek.started" {
                    #expect(resumed.map(\.tenant) == ["acme"] && resumed.first?.destroyed == [1])
                } else {
                    #expect(resumed.isEmpty)
                }
                _ = try await vault.shredDueTenants()
                _ = try await vault.runErasureEpoch()

                #expect(try vault.pendingErasureSince() == nil)
                let receipts = try vault.allReceiptIDs()
                #expect(Set(reported).isSubset(of: Set(receipts)))
                #expect(receipts.count == (shredHappened ? 1 : 0))
                for id in receipts {
                    #expect(try vault.receipt(id: id).status == .erased, "receipt \(id) is still pending after the epoch")
                }
                for tenant in ["acme", "doomed"] {
                    let record = try vault.tenantRecordNow(tenant)
                    if record.state == .shredded {
                        #expect(record.keks.isEmpty)
                        for database in [Schema.conversations, Schema.messages] {
                            #expect(try vault.entries(of: record.number, in: database) == 0)
                        }
                    } else {
                        #expect(record.keks.count == 1, "\(tenant) still holds KEK versions \(record.keks.map(\.version))")
                        #expect(record.keks.first?.version == record.currentKEK)
                    }
                }
                for fixture in world.all where !(shredHappened && targets.contains(fixture)) {
                    vault.expectIntact(fixture)
                }
                if shredHappened && testCase.scenario != .tenantShred {
                    for fixture in targets { vault.expectGone(fixture) }
                }
            }
            // And it opens again after the repair.
            try await withErasureVault(directory) { vault in
                let keyring = try Keyring.load(path: vault.dataDirectory.keyring)
                #expect(keyring.entries.count == 1)
                for fixture in world.acme { vault.expectIntact(fixture) }
            }
        }
    }

    /// The keyring's last step of a root rotation replaces the file that holds the old root. A
    /// kill after the rename and before the zeroing leaves that file under its second name;
    /// the next open zeroes it before removing the name, so its blocks are not released with the
    /// old root in them. (A witness link shows what the file held after its names went.)
    @Test("a kill between the keyring's rename and its zeroing leaves the old root on a name the next open zeroes")
    func killBeforeTheKeyringIsZeroed() async throws {
        try await withScratchDirectory { scratch in
            let directory = scratch + "/data"
            let world = World()
            try await world.build(directory)
            let run = try await Self.runChild([directory, "root-rotate"], fault: "root.keyring-final.renamed")
            try #require(run.killed, "status \(run.status), output \(run.lines), stderr \(run.stderr)")

            let keyringPath = directory + "/keyring"
            let retired = Keyring.retiredPath(keyringPath)
            let witness = scratch + "/witness"
            try #require(link(retired, witness) == 0, "no old keyring under \(retired): \(String(cString: strerror(errno)))")
            let left = try Keyring(decoding: Array(try Data(contentsOf: URL(fileURLWithPath: witness))))
            #expect(left.entries.map(\.epoch) == [1, 2], "the old file is not the keyring that held the old root")

            try await withErasureVault(directory) { vault in
                let keyring = try Keyring.load(path: keyringPath)
                #expect(vault.epoch == 2)
                #expect(keyring.entries.map(\.epoch) == [2])
                for fixture in world.all { vault.expectIntact(fixture) }
            }
            #expect(access(retired, F_OK) != 0, "the old keyring is still there")
            let witnessed = Array(try Data(contentsOf: URL(fileURLWithPath: witness)))
            #expect(!witnessed.isEmpty && witnessed.allSatisfy { $0 == 0 }, "the old root was left in the removed file")
        }
    }

    /// A rotation interrupted by a crash leaves a second KEK version that already wraps some
    /// DEKs. A conversation shredded after that, while its DEK is under the interrupted
    /// version, must still be erased by the next epoch: the epoch must not merely finish the
    /// interrupted rotation (which would keep that version alive under the new root).
    @Test("an epoch after an interrupted KEK rotation destroys the version a shredded DEK was under")
    func epochAfterInterruptedRotation() async throws {
        try await withScratchDirectory { scratch in
            let directory = scratch + "/data"
            let world = World()
            try await world.build(directory)
            let run = try await Self.runChild([directory, "kek-rotate", "acme", "2"], fault: "kek.batch")
            try #require(run.killed, "status \(run.status), output \(run.lines), stderr \(run.stderr)")

            let copies = try StoreCopies(root: scratch + "/copies")
            try await withErasureVault(directory) { vault in
                let record = try vault.tenantRecordNow("acme")
                try #require(record.keks.count == 2, "the rotation was not interrupted mid-way")
                let acme = [world.victim] + world.subjectConversations + world.acme
                let underNew = try acme.filter { try vault.kekVersion(tenant: "acme", conversation: $0.id) == record.currentKEK }
                let victim = try #require(underNew.first, "no DEK was re-wrapped before the kill")
                let victimDEK = try vault.dekBytes(tenant: "acme", conversation: victim.id)
                let victimHash = try vault.conversationHash(tenant: "acme", conversation: victim.id)
                // A backup taken now holds the victim's DEK wrapped under the interrupted version.
                try copies.take(vault, "interrupted")

                let receipt = try await vault.shredConversation(tenant: "acme", conversationID: victim.id)
                try copies.take(vault, "after-shred")
                _ = try await vault.runErasureEpoch()
                try copies.take(vault, "after-epoch")

                #expect(try vault.receipt(id: receipt.id).status == .erased, "the receipt stays pending after the epoch")
                #expect(try vault.pendingErasureSince() == nil)
                let after = try vault.tenantRecordNow("acme")
                #expect(after.keks.count == 1 && after.currentKEK > record.currentKEK,
                        "the epoch kept KEK version \(record.currentKEK), which wraps the shredded DEK in older copies")

                let loot = try Attacker(vault: vault, copies: copies.directories, scratch: scratch + "/attack").run()
                let survivors = (acme + world.doomed).filter { $0 != victim }
                VerifiedErasureTests.expectErased(
                    loot, victims: [victim], victimDEKs: [victimDEK], victimHashes: [victimHash], survivors: survivors)
                for fixture in survivors { vault.expectIntact(fixture) }
            }
        }
    }
}
