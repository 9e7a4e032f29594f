import Foundation

/// How a child hands its result to the parent: one JSON object on the last line of stdout.
extension SideResult {
    var jsonObject: [String: Any] {
        [
            "side": side.rawValue, "workload": workload.rawValue, "concurrency": concurrency,
            "operations": operations, "seconds": seconds, "rate": rate, "commits": commits,
            "cpu_user_s": cpuUser, "cpu_system_s": cpuSystem,
            "voluntary_switches": voluntarySwitches, "involuntary_switches": involuntarySwitches,
            "peak_rss_kib": peakRSSKiB, "end_rss_kib": endRSSKiB, "setup_s": setupSeconds,
            "anon_rss_kib": anonRSSKiB, "p50_us": p50Micros, "p99_us": p99Micros, "run": run, "busiest_thread_s": busiestThreadSeconds,
        ]
    }

    func jsonLine() throws -> String {
        let data = try JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    init(jsonLine line: String) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let side = (object["side"] as? String).flatMap(Side.init(rawValue:)),
              let workload = (object["workload"] as? String).flatMap(Workload.init(rawValue:))
        else { throw BenchError("unreadable child result: \(line)") }
        func int(_ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }
        func double(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? 0 }
        self.init(
            side: side, workload: workload, concurrency: int("concurrency"), operations: int("operations"),
            seconds: double("seconds"), commits: Int64(int("commits")), cpuUser: double("cpu_user_s"),
            cpuSystem: double("cpu_system_s"), voluntarySwitches: int("voluntary_switches"),
            involuntarySwitches: int("involuntary_switches"), peakRSSKiB: int("peak_rss_kib"),
            endRSSKiB: int("end_rss_kib"), setupSeconds: double("setup_s"))
        anonRSSKiB = int("anon_rss_kib")
        p50Micros = double("p50_us")
        p99Micros = double("p99_us")
        busiestThreadSeconds = double("busiest_thread_s")
    }
}
