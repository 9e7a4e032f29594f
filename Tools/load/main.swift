import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// tvault-load: a closed-loop load generator for the TranscriptVault socket API.
//
//   tvault-load --socket D/tvault.sock --token tvt_... --connections 16 --seconds 5 --mode append
//
// See `tvault-load --help` and Tools/bench-socket.sh.

let options: Options
do {
    options = try Options.parse(CommandLine.arguments.dropFirst())
} catch {
    if !error.description.isEmpty { log("tvault-load: \(error.description)\n") }
    log(Options.usage)
    exit(error.description.isEmpty ? 0 : 2)
}

if options.nioExecutor {
    // Run Swift concurrency on the NIO event loops: no hop between a loop and the cooperative
    // pool on every response, so the client adds as little as it can to each round trip.
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

do {
    let report = try await Load.run(options)
    print(report.jsonLine())
    if !options.quiet { log("tvault-load: " + report.summary()) }
    exit(report.operations > 0 ? 0 : 1)
} catch let error as LoadError {
    log("tvault-load: \(error.description)")
    exit(1)
} catch {
    log("tvault-load: \(error)")
    exit(1)
}
