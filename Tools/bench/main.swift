import Foundation

// tvault-bench: benchmarks of the TranscriptVault engine against a raw LMDB + AEAD baseline.
//
//   tvault-bench engine [--seconds S] [--runs R] [--appenders 1,16,128] [--dir PATH] ...
//   tvault-bench engine-side --side engine|raw --workload append|read --concurrency N --dir PATH ...
//
// See `tvault-bench --help` and Tools/bench-engine.sh.

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "engine":
        let options = try EngineOptions.parse(arguments.dropFirst())
        exit(try Driver.run(options))
    case "engine-side":
        let parameters = try SideParameters.parse(arguments.dropFirst())
        let result = try await Measure.run(parameters)
        FileHandle.standardOutput.write(Data((try result.jsonLine() + "\n").utf8))
        exit(0)
    case nil, "-h", "--help", "help":
        print(EngineOptions.usage)
        exit(arguments.isEmpty ? 2 : 0)
    default:
        Driver.log("tvault-bench: unknown command \(arguments[0])\n\n\(EngineOptions.usage)")
        exit(2)
    }
} catch {
    Driver.log("tvault-bench: \(error)")
    exit(1)
}
