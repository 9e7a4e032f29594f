import Foundation
import Synchronization
import Testing
import TranscriptStorage
import TranscriptTestSupport
@testable import TranscriptVault

#if canImport(Glibc)
import Glibc
#endif

/// The idle poller: a thread of the idle scheduling class that polls from `keepAwake` until its
/// linger has passed, then sleeps; the writer wakes it only when it sees concurrent callers.
@Suite("Idle poller")
struct IdlePollerTests {
    /// A poller that ignores any cgroup quota of the machine running the tests.
    static func poller(linger: Duration = .milliseconds(20)) throws -> IdlePoller {
        try #require(IdlePoller.make(linger: linger, quotaLimited: false))
    }

    /// The scheduling policy of thread `tid` of this process (`SCHED_IDLE` is 5).
    static func policy(of tid: Int32) -> Int32 { sched_getscheduler(tid) }

    @Test("keepAwake makes it poll at the idle scheduling class; it sleeps once the linger has passed, and wakes again")
    func pollsThenSleeps() async throws {
        let poller = try Self.poller()
        defer { poller.stop() }
        // Named and of the idle class once made, before any call.
        #expect(poller.kernelThreadID != 0)
        #expect(Self.policy(of: poller.kernelThreadID) == 5)
        #expect(!poller.isPolling && poller.wakeUpCount == 0)

        poller.keepAwake()
        #expect(try await eventually { poller.wakeUpCount == 1 })
        #expect(try await eventually { !poller.isPolling }, "still polling long after its 20 ms linger")
        #expect(!poller.hasStopped)

        poller.keepAwake()
        #expect(try await eventually { poller.wakeUpCount == 2 })
        #expect(try await eventually { !poller.isPolling })
    }

    @Test("calls from many threads at once leave it answering the next call, then asleep")
    func concurrentCalls() async throws {
        let poller = try Self.poller(linger: .microseconds(50))
        defer { poller.stop() }
        #expect(poller.kernelThreadID != 0)
        // Calls from many threads, some racing the thread's own decision to sleep (the one
        // race that could lose a call is made deterministic in `callRacingSleep`): afterwards
        // it must neither poll for ever nor miss the next call.
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for call in 0..<2_000 {
                        poller.keepAwake()
                        if (call + task) % 7 == 0 { usleep(30) }
                    }
                }
            }
        }
        #expect(try await eventually { !poller.isPolling })
        let before = poller.wakeUpCount
        poller.keepAwake()
        #expect(try await eventually { poller.wakeUpCount == before + 1 })
        #expect(try await eventually { !poller.isPolling })
    }

    @Test("a keepAwake as the thread decides to sleep keeps it polling")
    func callRacingSleep() async throws {
        // The call comes after the thread found its deadline passed, before it marks itself
        // asleep: it sees the thread polling and signals nothing, so the thread must see the
        // new deadline itself.
        let box = Mutex<IdlePoller?>(nil)
        let raced = Mutex(false)
        let poller = try #require(IdlePoller.make(linger: .milliseconds(20), quotaLimited: false) {
            let first = raced.withLock { done in defer { done = true }; return !done }
            if first { box.withLock { $0 }?.keepAwake() }
        })
        box.withLock { $0 = poller }
        defer { poller.stop() }
        poller.keepAwake()
        // Started polling twice: at the first call, and again for the racing one.
        #expect(try await eventually { poller.wakeUpCount == 2 }, "the racing call was lost")
        #expect(raced.withLock { $0 })
        #expect(try await eventually { !poller.isPolling })
    }

    @Test("stop ends the thread, asleep or polling, and a second stop changes nothing")
    func stops() async throws {
        for polling in [false, true] {
            let poller = try Self.poller(linger: .seconds(60))
            #expect(poller.kernelThreadID != 0)
            let tid = poller.kernelThreadID
            if polling {
                poller.keepAwake()
                #expect(try await eventually { poller.wakeUpCount == 1 })
            }
            poller.stop()
            #expect(poller.hasStopped)
            // It ends once it next runs (of the idle class, whenever a processor is free).
            #expect(try await eventually { !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)") })
            poller.stop()
            #expect(poller.hasStopped)
        }
    }

    @Test("no poller under a cgroup CPU quota")
    func notUnderQuota() {
        #expect(IdlePoller.make(quotaLimited: true) == nil)
    }

    @Test("the writer wakes it for concurrent callers, not for one caller at a time, and stops it when closed")
    func writerWakesItForConcurrency() async throws {
        try await withTemporaryDirectory { dir in
            var options = Environment.Options()
            options.durable = false
            let environment = try Environment(path: dir + "/store", databases: ["t"], options: options)
            let poller = try Self.poller(linger: .milliseconds(5))
            let writer = Writer(environment: environment, maxBatch: 512, idlePoller: poller)
            defer { writer.close() }
            #expect(poller.kernelThreadID != 0)

            // One caller at a time: every batch holds one job, and the next is not expected.
            for index in 0..<20 {
                try await writer.submit { txn in
                    _ = try txn.put([UInt8(index)], forKey: [UInt8(index)], in: environment["t"])
                }
            }
            #expect(poller.wakeUpCount == 0 && !poller.isPolling)

            // A batch of several callers: the writer expects them back.
            let tickets = try await WriterGatherTests.gatheringBatch(
                writer, environment, keys: (0..<8).map { "concurrent-\($0)" })
            for ticket in tickets { try await ticket.value() }
            #expect(try await eventually { poller.wakeUpCount >= 1 })

            writer.close()
            #expect(poller.hasStopped)
        }
    }

    @Test("a vault configured without idle polling has no poller")
    func configuredOff() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = Vault.Configuration(dataDirectory: dir)
            configuration.idlePolling = false
            try await withVault(configuration, initialize: true) { vault in
                #expect(vault.writer.idlePoller == nil)
            }
        }
    }
}

/// Whether a cgroup CPU quota applies, read from `/proc/self/cgroup` and the quota files.
@Suite("CPU quota")
struct CPUQuotaTests {
    static func limits(_ membership: String, _ files: [String: String]) -> Bool {
        CPUQuota.limits(membership: membership) { files[$0] }
    }

    @Test("cgroup v2: a quota on the cgroup or an ancestor limits; max does not; no file does not")
    func version2() {
        let membership = "0::/system.slice/tvault.service\n"
        #expect(!Self.limits(membership, ["/sys/fs/cgroup/system.slice/tvault.service/cpu.max": "max 100000\n"]))
        #expect(Self.limits(membership, ["/sys/fs/cgroup/system.slice/tvault.service/cpu.max": "50000 100000\n"]))
        #expect(Self.limits(membership, [
            "/sys/fs/cgroup/system.slice/tvault.service/cpu.max": "max 100000\n",
            "/sys/fs/cgroup/system.slice/cpu.max": "200000 100000\n",
        ]))
        #expect(!Self.limits(membership, [:]))
        #expect(!Self.limits("0::/\n", [:]))
        // In a container's cgroup namespace the path reads `/`, and its quota is at the root.
        #expect(Self.limits("0::/\n", ["/sys/fs/cgroup/cpu.max": "50000 100000\n"]))
        #expect(!Self.limits("0::/\n", ["/sys/fs/cgroup/cpu.max": "max 100000\n"]))
    }

    @Test("cgroup v1: the cpu controller's quota limits unless it is -1, on the cgroup or an ancestor")
    func version1() {
        let membership = "4:memory:/a\n3:cpu,cpuacct:/docker/abc\n0::/\n"
        #expect(!Self.limits(membership, ["/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n"]))
        #expect(Self.limits(membership, ["/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000\n"]))
        #expect(Self.limits(membership, ["/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "100000\n"]))
        #expect(!Self.limits("1:cpu:/\n", ["/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n"]))
        #expect(Self.limits("1:cpu:/\n", ["/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n"]))
        // The memory controller's files are not a CPU quota.
        #expect(!Self.limits("4:memory:/a\n", ["/sys/fs/cgroup/memory/a/cpu.cfs_quota_us": "5\n"]))
        // A mount named in another order than the controllers are listed, or `cpu` alone.
        #expect(Self.limits("3:cpu,cpuacct:/k\n", ["/sys/fs/cgroup/cpuacct,cpu/k/cpu.cfs_quota_us": "20000\n"]))
        #expect(Self.limits("3:cpuacct,cpu:/k\n", ["/sys/fs/cgroup/cpu/k/cpu.cfs_quota_us": "20000\n"]))
    }
}
