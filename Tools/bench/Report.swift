import Foundation

/// The summary: medians, ranges, ratios and memory, as Markdown and JSON.
struct Report {
    let options: EngineOptions
    let configurations: [BenchConfig]
    let fileSystem: String
    let directory: String
    let wallSeconds: Double

    struct Summary {
        var median: Double
        var min: Double
        var max: Double
    }

    static func summary(_ values: [Double]) -> Summary {
        guard !values.isEmpty else { return Summary(median: 0, min: 0, max: 0) }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return Summary(median: median, min: sorted.first!, max: sorted.last!)
    }

    /// Engine median over raw median.
    static func ratio(_ c: BenchConfig) -> Double {
        let raw = summary(c.raw.map(\.rate)).median
        return raw > 0 ? summary(c.engine.map(\.rate)).median / raw : 0
    }

    /// Engine over raw within each run (the two sides of one run ran back to back).
    static func pairedRatios(_ c: BenchConfig) -> [Double] {
        c.engine.compactMap { engine in
            c.raw.first(where: { $0.run == engine.run }).map { engine.rate / max($0.rate, 1e-9) }
        }
    }

    var targetsMet: Bool {
        configurations.allSatisfy { c in
            c.target.map { Self.ratio(c) >= $0 && !c.engine.isEmpty && !c.raw.isEmpty } ?? true
        }
    }

    // MARK: Markdown

    func markdown() -> String {
        var out: [String] = []
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        out.append("## tvault-bench engine")
        out.append("")
        out.append("- Machine: \(cpus) CPUs (\(ProcessStats.cpuModel())), Linux \(kernel), "
                   + "\(Self.fixed(Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, 1)) GiB RAM")
        out.append("- Data: \(fileSystem); temporary directories under `\(directory)`")
        out.append("- Method: \(options.runs) run\(options.runs == 1 ? "" : "s") × \(Self.fixed(options.seconds, 1)) s measured (after "
                   + "\(Self.fixed(options.warmup, 1)) s warm-up) per side and configuration; each measurement in its own "
                   + "child process and fresh data directory; engine and raw alternate (order flipped every run). "
                   + "Cells: median (min–max). Ratio: engine median / raw median (per-run paired ratios min–max). "
                   + "Peak RSS: highest VmHWM of the side's child processes.")
        out.append("- Appends: one 1 KiB JSON message per call, each appender on its own conversation, waiting for its "
                   + "durable (fsync) group commit before the next. Raw = the limit: same LMDB environment type and "
                   + "durable commits, a dedicated writer thread with the same group commit, per item AEAD.seal of the "
                   + "same message (same 50-byte associated data) + put under a 28-byte key + put of a conversation record "
                   + "of the engine's size; no lookups, hashing, caches or time index.")
        out.append("- Reads: one conversation of \(options.prefill) messages; pages of \(options.pageSize) after a random "
                   + "sequence number; engine `Vault.read` vs raw read transaction + cursor + AEAD.open per message.")
        if let mib = options.initialMapMiB {
            out.append("- LMDB initial map size set to \(mib) MiB on both sides (`--initial-map`; the default is 64 MiB).")
        }
        if !options.durable {
            out.append("- **Diagnostic run with `--nosync`: commits are not flushed on either side. These are not the "
                       + "durable figures the targets are about; they show CPU cost only.**")
        }
        out.append("- Wall time of the whole run: \(Self.fixed(wallSeconds, 0)) s")
        out.append("")
        out.append("| workload | concurrency | engine | raw (limit) | engine / raw | target | peak RSS engine / raw |")
        out.append("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
        for c in configurations {
            let unit = c.workload == .append ? "appends/s" : "pages/s"
            let engine = Self.summary(c.engine.map(\.rate))
            let raw = Self.summary(c.raw.map(\.rate))
            let ratio = Self.ratio(c)
            let paired = Self.summary(Self.pairedRatios(c))
            let complete = !c.engine.isEmpty && !c.raw.isEmpty
            var target = "—"
            if let goal = c.target {
                target = "≥ \(Self.fixed(goal, 2)): " + (complete && ratio >= goal ? "**met**" : "**missed**")
            }
            let ratioCell = complete
                ? "**\(Self.fixed(ratio, 2))** (\(Self.fixed(paired.min, 2))–\(Self.fixed(paired.max, 2)))" : "—"
            let workload = c.workload == .append
                ? (options.durable ? "durable append, 1 KiB" : "append, 1 KiB, **no fsync**")
                : "read, \(options.pageSize)-message pages"
            let who = (c.workload == .append ? "appender" : "thread") + (c.concurrency == 1 ? "" : "s")
            var engineCell = c.engine.isEmpty ? "failed" : "\(Self.rateCell(engine)) \(unit)"
            var rawCell = c.raw.isEmpty ? "failed" : "\(Self.rateCell(raw)) \(unit)"
            if c.workload == .read && !c.engine.isEmpty && !c.raw.isEmpty {
                engineCell += " (\(Self.grouped(engine.median * Double(options.pageSize))) msgs/s)"
                rawCell += " (\(Self.grouped(raw.median * Double(options.pageSize))) msgs/s)"
            }
            let peakEngine = Double(c.engine.map(\.peakRSSKiB).max() ?? 0) / 1024
            let peakRaw = Double(c.raw.map(\.peakRSSKiB).max() ?? 0) / 1024
            out.append("| \(workload) | \(c.concurrency) \(who) | \(engineCell) | \(rawCell) | "
                       + "\(ratioCell) | \(target) | "
                       + "\(Self.fixed(peakEngine, 1)) / \(Self.fixed(peakRaw, 1)) MiB |")
        }
        out.append("")
        out.append("Where the time goes (medians over runs, measured window only):")
        out.append("")
        out.append("| workload | concurrency | side | ops per commit | commits/s | latency p50 / p99 | "
                   + "CPU µs per op (user+sys) | busiest thread: µs per op, busy | voluntary switches per op | "
                   + "heap (RssAnon) at end | setup s |")
        out.append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in configurations {
            for (side, runs) in [(Side.engine, c.engine), (Side.raw, c.raw)] where !runs.isEmpty {
                let perCommit = runs.filter { $0.commits > 0 }.map { Double($0.operations) / Double($0.commits) }
                let commitRate = runs.filter { $0.commits >= 0 }.map { Double($0.commits) / $0.seconds }
                let cpu = runs.map { $0.operations > 0 ? ($0.cpuUser + $0.cpuSystem) / Double($0.operations) * 1e6 : 0 }
                let busiest = runs.map { $0.operations > 0 ? $0.busiestThreadSeconds / Double($0.operations) * 1e6 : 0 }
                let busy = runs.map { $0.seconds > 0 ? $0.busiestThreadSeconds / $0.seconds * 100 : 0 }
                let switches = runs.map { $0.operations > 0 ? Double($0.voluntarySwitches) / Double($0.operations) : 0 }
                let rss = Self.summary(runs.map { Double($0.anonRSSKiB) / 1024 }).median
                let p50 = Self.summary(runs.map(\.p50Micros)).median
                let p99 = Self.summary(runs.map(\.p99Micros)).median
                let latency = p50 >= 1000
                    ? "\(Self.fixed(p50 / 1000, 1)) / \(Self.fixed(p99 / 1000, 1)) ms"
                    : "\(Self.fixed(p50, 0)) / \(Self.fixed(p99, 0)) µs"
                let setup = Self.summary(runs.map(\.setupSeconds)).median
                let batch = c.workload == .append && !perCommit.isEmpty ? Self.fixed(Self.summary(perCommit).median, 1) : "—"
                let commits = c.workload == .append && !commitRate.isEmpty ? Self.fixed(Self.summary(commitRate).median, 0) : "—"
                out.append("| \(c.workload.rawValue) | \(c.concurrency) | \(side.rawValue) | \(batch) | \(commits) | \(latency) | "
                           + "\(Self.fixed(Self.summary(cpu).median, 1)) | "
                           + (c.workload == .append
                               ? "\(Self.fixed(Self.summary(busiest).median, 1)), \(Self.fixed(Self.summary(busy).median, 0)) % | "
                               : "— | ")
                           + "\(Self.fixed(Self.summary(switches).median, 2)) | "
                           + "\(Self.fixed(rss, 1)) MiB | \(Self.fixed(setup, 2)) |")
            }
        }
        let failures = configurations.flatMap { c in
            c.failures.map { "\(c.workload.rawValue) x\(c.concurrency), \($0)" }
        }
        if !failures.isEmpty {
            out.append("")
            out.append("**Failed measurements** (left out of the figures above): " + failures.joined(separator: "; "))
        }
        out.append("")
        out.append("Targets (append at 16 appenders and reads ≥ 60 % of raw): " + (targetsMet ? "**all met**" : "**not all met**"))
        return out.joined(separator: "\n")
    }

    // MARK: JSON

    func json() -> [String: Any] {
        [
            "options": [
                "seconds": options.seconds, "warmup": options.warmup, "runs": options.runs,
                "appenders": options.appenders, "readers": options.readers, "prefill": options.prefill,
                "page": options.pageSize, "durable": options.durable,
                "initial_map_mib": options.initialMapMiB ?? 0,
            ] as [String: Any],
            "file_system": fileSystem,
            "cpus": ProcessInfo.processInfo.activeProcessorCount,
            "wall_seconds": wallSeconds,
            "targets_met": targetsMet,
            "configurations": configurations.map { c -> [String: Any] in
                let engine = Self.summary(c.engine.map(\.rate))
                let raw = Self.summary(c.raw.map(\.rate))
                var object: [String: Any] = [
                    "workload": c.workload.rawValue, "concurrency": c.concurrency,
                    "engine_rate": ["median": engine.median, "min": engine.min, "max": engine.max],
                    "raw_rate": ["median": raw.median, "min": raw.min, "max": raw.max],
                    "ratio": Self.ratio(c), "paired_ratios": Self.pairedRatios(c),
                    "engine_peak_rss_kib": c.engine.map(\.peakRSSKiB).max() ?? 0,
                    "raw_peak_rss_kib": c.raw.map(\.peakRSSKiB).max() ?? 0,
                    "engine_runs": c.engine.map(\.jsonObject), "raw_runs": c.raw.map(\.jsonObject),
                ]
                if let target = c.target { object["target"] = target; object["target_met"] = Self.ratio(c) >= target }
                if !c.failures.isEmpty { object["failures"] = c.failures }
                return object
            },
        ]
    }

    // MARK: formatting

    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// An integer with thin thousands separators (e.g. 12 345).
    static func grouped(_ value: Double) -> String {
        let digits = Array(String(Int(value.rounded())))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    static func rateCell(_ s: Summary) -> String {
        "\(grouped(s.median)) (\(grouped(s.min))–\(grouped(s.max)))"
    }
}
