import Foundation

/// Command-line parsing for `tvault-bench` (no dependencies beyond the engine's own modules).
struct ArgumentReader {
    private var arguments: [String]

    init(_ arguments: some Sequence<String>) { self.arguments = Array(arguments) }

    var isEmpty: Bool { arguments.isEmpty }

    mutating func next() -> String? { arguments.isEmpty ? nil : arguments.removeFirst() }

    mutating func value(for flag: String) throws -> String {
        guard let value = next() else { throw BenchError("\(flag) needs a value") }
        return value
    }

    mutating func double(for flag: String) throws -> Double {
        let text = try value(for: flag)
        guard let value = Double(text), value >= 0 else { throw BenchError("\(flag): not a number: \(text)") }
        return value
    }

    mutating func int(for flag: String) throws -> Int {
        let text = try value(for: flag)
        guard let value = Int(text), value > 0 else { throw BenchError("\(flag): not a positive integer: \(text)") }
        return value
    }

    mutating func list(for flag: String) throws -> [Int] {
        let text = try value(for: flag)
        let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { throw BenchError("\(flag): expected e.g. 1,16,128") }
        return values
    }
}

/// `tvault-bench engine` options.
struct EngineOptions: Sendable {
    var seconds = 3.0
    var warmup = 0.5
    var runs = 3
    var appenders = [1, 16, 128]
    var readers = [1, 2]
    var directory: String?
    var prefill = 10_000
    var pageSize = 100
    var jsonPath: String?
    var appends = true
    var reads = true
    var check = false
    var durable = true
    var initialMapMiB: Int?

    static let usage = """
    usage: tvault-bench engine [options]

    Durable 1 KiB appends from concurrent appenders, and 100-message page reads, engine vs. a raw
    LMDB + AEAD baseline doing the same work with the same group commit (the limit). Each
    measurement runs in its own child process and fresh data directory; engine and raw runs
    alternate. Prints a Markdown table.

      --seconds S        measured seconds per run (default 3)
      --warmup S         unmeasured seconds before each run (default 0.5)
      --runs R           runs per side and configuration (default 3)
      --appenders LIST   concurrent appenders (default 1,16,128)
      --readers LIST     concurrent reader threads (default 1,2)
      --prefill N        messages in the read conversation (default 10000)
      --page N           messages per page (default 100)
      --dir PATH         where the temporary data directories go (default ./.build-bench-tmp,
                         else /tmp); its file system is what is measured
      --json PATH        also write every run and the summary as JSON
      --no-appends, --no-reads   skip a part
      --check            exit 1 when a target (append@16 and reads ≥ 60 % of raw) is missed
      --initial-map MIB  LMDB initial map size on both sides (default: each side's default, 64)
      --nosync           diagnostic: commit without fsync on both sides (shows CPU cost, not the
                         durable figures the targets are about)

    usage: tvault-bench engine-side --side engine|raw --workload append|read --concurrency N
                                    --dir PATH [--seconds S] [--warmup S] [--prefill N] [--page N] [--nosync]
                                    [--initial-map MIB]
      One measurement in this process (what the parent spawns; handy under perf).
    """

    static func parse(_ arguments: some Sequence<String>) throws -> EngineOptions {
        var reader = ArgumentReader(arguments)
        var options = EngineOptions()
        while let flag = reader.next() {
            switch flag {
            case "--seconds": options.seconds = try reader.double(for: flag)
            case "--warmup": options.warmup = try reader.double(for: flag)
            case "--runs": options.runs = try reader.int(for: flag)
            case "--appenders": options.appenders = try reader.list(for: flag)
            case "--readers": options.readers = try reader.list(for: flag)
            case "--prefill": options.prefill = try reader.int(for: flag)
            case "--page": options.pageSize = try reader.int(for: flag)
            case "--dir": options.directory = try reader.value(for: flag)
            case "--json": options.jsonPath = try reader.value(for: flag)
            case "--no-appends": options.appends = false
            case "--no-reads": options.reads = false
            case "--check": options.check = true
            case "--nosync": options.durable = false
            case "--initial-map": options.initialMapMiB = try reader.int(for: flag)
            default: throw BenchError("unknown option \(flag)\n\n\(usage)")
            }
        }
        guard options.seconds > 0 else { throw BenchError("--seconds must be positive") }
        guard options.pageSize <= 1000 else { throw BenchError("--page must be at most 1000 (the engine's limit)") }
        guard options.prefill > options.pageSize else { throw BenchError("--prefill must exceed --page") }
        return options
    }
}

extension SideParameters {
    static func parse(_ arguments: some Sequence<String>) throws -> SideParameters {
        var reader = ArgumentReader(arguments)
        var side: Side?
        var workload: Workload?
        var directory: String?
        var p = SideParameters(side: .engine, workload: .append, concurrency: 1, seconds: 3, warmup: 0.5,
                               directory: "", prefill: 10_000, pageSize: 100)
        while let flag = reader.next() {
            switch flag {
            case "--side":
                let text = try reader.value(for: flag)
                guard let value = Side(rawValue: text) else { throw BenchError("--side: engine or raw") }
                side = value
            case "--workload":
                let text = try reader.value(for: flag)
                guard let value = Workload(rawValue: text) else { throw BenchError("--workload: append or read") }
                workload = value
            case "--concurrency": p.concurrency = try reader.int(for: flag)
            case "--seconds": p.seconds = try reader.double(for: flag)
            case "--warmup": p.warmup = try reader.double(for: flag)
            case "--prefill": p.prefill = try reader.int(for: flag)
            case "--page": p.pageSize = try reader.int(for: flag)
            case "--dir": directory = try reader.value(for: flag)
            case "--nosync": p.durable = false
            case "--initial-map": p.initialMapMiB = try reader.int(for: flag)
            default: throw BenchError("unknown option \(flag)\n\n\(EngineOptions.usage)")
            }
        }
        guard let side, let workload, let directory else { throw BenchError("engine-side needs --side, --workload and --dir") }
        p.side = side
        p.workload = workload
        p.directory = directory
        return p
    }

    var arguments: [String] {
        ["engine-side", "--side", side.rawValue, "--workload", workload.rawValue, "--concurrency", String(concurrency),
         "--seconds", String(seconds), "--warmup", String(warmup), "--prefill", String(prefill),
         "--page", String(pageSize), "--dir", directory]
            + (durable ? [] : ["--nosync"]) + (initialMapMiB.map { ["--initial-map", String($0)] } ?? [])
    }
}
