import Foundation

/// Whether a cgroup CPU quota limits this process: processor time spent polling would then be
/// taken from the quota, and every thread of the process throttled when it runs out. Read once,
/// when the store opens: a quota set later is not seen.
enum CPUQuota {
    /// Reads `/proc/self/cgroup` and the quota files of the cgroups it names (and of their
    /// ancestors, under cgroup v2). Unreadable files count as no quota.
    static func limitsThisProcess() -> Bool {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return false }
        return limits(membership: membership) { path in try? String(contentsOfFile: path, encoding: .utf8) }
    }

    /// Whether any quota file that `read` returns for the cgroups in `membership` (the text of
    /// `/proc/self/cgroup`) sets a limit.
    static func limits(membership: String, read: (String) -> String?) -> Bool {
        for line in membership.split(separator: "\n") {
            // hierarchy-ID:controllers:path
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1].split(separator: ",")
            let path = String(fields[2])
            // The cgroup and its ancestors: a quota on any of them applies.
            var components = path.split(separator: "/").map(String.init)
            if fields[0] == "0" && controllers.isEmpty {
                // cgroup v2: `cpu.max`. The mount's root has one too when it is a cgroup
                // namespace's (a container's, whose path reads `/`); the host's root has none.
                while true {
                    let file = (["/sys/fs/cgroup"] + components + ["cpu.max"]).joined(separator: "/")
                    if let text = read(file), limitsV2(cpuMax: text) { return true }
                    if components.isEmpty { break }
                    components.removeLast()
                }
            } else if controllers.contains("cpu") {
                // cgroup v1: the cpu controller's `cpu.cfs_quota_us`, under a mount named after
                // its controllers, in the order listed or another (`cpu,cpuacct`, `cpuacct,cpu`),
                // or `cpu` alone.
                var mounts = [String(fields[1])]
                for name in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] where !mounts.contains(name) { mounts.append(name) }
                while true {
                    for mount in mounts {
                        let file = (["/sys/fs/cgroup", mount] + components + ["cpu.cfs_quota_us"]).joined(separator: "/")
                        if let text = read(file), limitsV1(quota: text) { return true }
                    }
                    if components.isEmpty { break }
                    components.removeLast()
                }
            }
        }
        return false
    }

    /// `cpu.max` holds `max PERIOD` without a limit, `QUOTA PERIOD` with one.
    static func limitsV2(cpuMax: String) -> Bool {
        guard let quota = cpuMax.split(whereSeparator: \.isWhitespace).first else { return false }
        return quota != "max"
    }

    /// `cpu.cfs_quota_us` holds -1 without a limit.
    static func limitsV1(quota: String) -> Bool {
        guard let value = Int(quota.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return value >= 0
    }
}
