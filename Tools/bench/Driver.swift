import Foundation
import Glibc

/// One configuration (workload × concurrency) with every run of both sides, in run order.
struct BenchConfig: Sendable {
    var workload: Workload
    var concurrency: Int
    var engine: [SideResult] = []
    var raw: [SideResult] = []
    /// Measurements whose child failed (e.g. crashed), with the reason.
    var failures: [String] = []

    /// Whether the issue sets a target for this configuration (appends at 16, every read).
    var target: Double? {
        switch workload {
        case .append: concurrency == 16 ? 0.60 : nil
        case .read: 0.60
        }
    }
}

/// The parent: runs every measurement in a child process of its own, alternating sides.
enum Driver {
    static func run(_ options: EngineOptions) throws -> Int32 {
        let base = try baseDirectory(options.directory)
        let executable = ProcessStats.executablePath()
        var configurations: [BenchConfig] = []
        if options.appends {
            configurations += options.appenders.map { BenchConfig(workload: .append, concurrency: $0) }
        }
        if options.reads {
            configurations += options.readers.map { BenchConfig(workload: .read, concurrency: $0) }
        }
        let started = ContinuousClock.now
        let fileSystem = ProcessStats.fileSystem(of: base)
        log("tvault-bench: data directories under \(base) (\(fileSystem))")
        for index in configurations.indices {
            for run in 0..<options.runs {
                // Alternate which side goes first, so that neither always meets a warmer disk.
                let order: [Side] = run % 2 == 0 ? [.engine, .raw] : [.raw, .engine]
                for side in order {
                    let parameters = SideParameters(
                        side: side, workload: configurations[index].workload,
                        concurrency: configurations[index].concurrency, seconds: options.seconds,
                        warmup: options.warmup, directory: "", prefill: options.prefill, pageSize: options.pageSize,
                        durable: options.durable, initialMapMiB: options.initialMapMiB)
                    var result: SideResult
                    do {
                        result = try measure(parameters, executable: executable, base: base)
                    } catch let failure as ChildFailure {
                        log("  \(parameters.workload.rawValue) x\(parameters.concurrency) run \(run + 1)/\(options.runs) "
                            + "\(side.rawValue): FAILED (\(failure.reason)); continuing")
                        configurations[index].failures.append("\(side.rawValue) run \(run + 1): \(failure.reason)")
                        continue
                    }
                    result.run = run + 1
                    switch side {
                    case .engine: configurations[index].engine.append(result)
                    case .raw: configurations[index].raw.append(result)
                    }
                    log(progressLine(result, run: run + 1, of: options.runs))
                }
            }
        }
        let report = Report(options: options, configurations: configurations, fileSystem: fileSystem,
                            directory: base, wallSeconds: Measure.seconds(since: started))
        print(report.markdown())
        if let path = options.jsonPath {
            let data = try JSONSerialization.data(withJSONObject: report.json(), options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: path))
            log("tvault-bench: wrote \(path)")
        }
        return options.check && !report.targetsMet ? 1 : 0
    }

    /// Runs one measurement in a child process in a fresh directory, removed afterwards.
    static func measure(_ parameters: SideParameters, executable: String, base: String) throws -> SideResult {
        var template = Array((base + "/tvb-\(parameters.side.rawValue)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot create a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var p = parameters
        p.directory = directory
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = p.arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, process.terminationReason == .exit else {
            let how = process.terminationReason == .uncaughtSignal
                ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
            log("tvault-bench: child failed (\(how)): \(executable) \(p.arguments.joined(separator: " "))")
            throw ChildFailure(reason: how)
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").last else { throw BenchError("child printed nothing") }
        return try SideResult(jsonLine: String(line))
    }

    struct ChildFailure: Error {
        let reason: String
    }

    static func baseDirectory(_ requested: String?) throws -> String {
        let candidates = requested.map { [$0] } ?? [FileManager.default.currentDirectoryPath + "/.build-bench-tmp", "/tmp"]
        for candidate in candidates {
            if mkdir(candidate, 0o700) == 0 || errno == EEXIST, access(candidate, W_OK) == 0 {
                return URL(fileURLWithPath: candidate).standardizedFileURL.path
            }
        }
        throw BenchError("no writable directory among \(candidates)")
    }

    static func progressLine(_ r: SideResult, run: Int, of runs: Int) -> String {
        let unit = r.workload == .append ? "appends/s" : "pages/s"
        let batch = r.commits > 0 ? ", " + Report.fixed(Double(r.operations) / Double(r.commits), 1) + " ops/commit" : ""
        let cpu = r.operations > 0 ? (r.cpuUser + r.cpuSystem) / Double(r.operations) * 1e6 : 0
        let side = r.side.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
        return "  \(r.workload.rawValue) x\(r.concurrency) run \(run)/\(runs) \(side): \(Report.fixed(r.rate, 0)) \(unit)\(batch), "
            + "p50 \(Report.fixed(r.p50Micros, 0)) us, p99 \(Report.fixed(r.p99Micros, 0)) us, "
            + "cpu \(Report.fixed(cpu, 0)) us/op"
            + (r.workload == .append ? " (busiest thread \(Report.fixed(r.busiestThreadSeconds / max(r.seconds, 1e-9) * 100, 0)) % busy)" : "")
            + ", peak RSS \(Report.fixed(Double(r.peakRSSKiB) / 1024, 1)) MiB"
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
