// tvault-bench-keys: re-wrap rate against the raw libsodium wrap rate, and the time of one
// erasure epoch for tenants of growing size. Release builds only; see Docs/performance.md.
//
//   tvault-bench-keys [--sizes 1000,10000,100000,1000000] [--rewrap 100000] [--dir PATH]
import Foundation
import TranscriptCrypto
import TranscriptVault

struct Options {
    var sizes = [1_000, 10_000, 100_000, 1_000_000]
    var rewrapConversations = 100_000
    var rawSeconds = 2.0
    var directory = FileManager.default.temporaryDirectory.path

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--sizes": sizes = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--rewrap": rewrapConversations = Int(iterator.next() ?? "") ?? rewrapConversations
            case "--raw-seconds": rawSeconds = Double(iterator.next() ?? "") ?? rawSeconds
            case "--dir": directory = iterator.next() ?? directory
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(64)
            }
        }
    }
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func peakRSSMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kib / 1024
}

/// The raw limit: wrapping a 32-byte key with XChaCha20-Poly1305 (what sealing a DEK costs),
/// and re-wrapping (open + seal through one scratch buffer), in a tight loop.
func rawRates(seconds limit: Double) throws -> (wrap: Double, rewrap: Double) {
    let dek = try SecretKey.random()
    let old = try SecretKey.random()
    let new = try SecretKey.random()
    let ad = [UInt8](repeating: 7, count: 53)
    var count = 0
    var start = Date()
    while Date().timeIntervalSince(start) < limit {
        for _ in 0..<1000 { _ = try AEAD.sealKey(dek, using: old, authenticating: ad) }
        count += 1000
    }
    let wrap = Double(count) / Date().timeIntervalSince(start)
    let sealed = try AEAD.sealKey(dek, using: old, authenticating: ad)
    let rewrapper = try KeyRewrapper()
    count = 0
    start = Date()
    while Date().timeIntervalSince(start) < limit {
        for _ in 0..<1000 {
            _ = try sealed.withUnsafeBytes { try rewrapper.rewrap($0, from: old, oldAD: ad, to: new, newAD: ad) }
        }
        count += 1000
    }
    return (wrap, Double(count) / Date().timeIntervalSince(start))
}

/// A store with one tenant of `size` conversations of one small message each.
func populate(_ directory: String, size: Int) async throws -> Vault {
    var configuration = Vault.Configuration(dataDirectory: directory)
    configuration.maxBatch = 4096
    let vault = try Vault.initialize(configuration)
    _ = try await vault.createTenant("bench")
    let message = Array(#"{"role":"user","content":"hello"}"#.utf8)
    var next = 0
    while next < size {
        let chunk = min(20_000, size - next)
        var tickets: [AppendTicket] = []
        tickets.reserveCapacity(chunk)
        for index in next..<(next + chunk) {
            tickets.append(try vault.enqueueAppend(AppendRequest(
                tenant: "bench", conversationID: "conversation-\(index)", messages: [message], subjectID: "subject-\(index % 100)")))
        }
        for ticket in tickets { _ = try await ticket.value() }
        next += chunk
    }
    return vault
}

let options = Options(CommandLine.arguments)
let root = options.directory + "/tvault-bench-keys-\(getpid())"
try? FileManager.default.removeItem(atPath: root)
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }

print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(Date())")
let raw = try rawRates(seconds: options.rawSeconds)
print(String(format: "raw libsodium: wrap %.0f keys/s, re-wrap (open+seal) %.0f keys/s", raw.wrap, raw.rewrap))

// Re-wrap rate of a tenant KEK rotation, durable, in batches of 5,000.
do {
    let directory = root + "/rewrap"
    let vault = try await populate(directory, size: options.rewrapConversations)
    var rotation: KEKRotation?
    let elapsed = try await seconds { rotation = try await vault.rotateTenantKEK("bench") }
    let rate = Double(rotation?.rewrapped ?? 0) / elapsed
    print(String(format: "engine re-wrap: %d DEKs in %.2f s = %.0f DEKs/s = %.1f %% of raw wrap, %.1f %% of raw re-wrap",
                 rotation?.rewrapped ?? 0, elapsed, rate, 100 * rate / raw.wrap, 100 * rate / raw.rewrap))
    vault.close()
    try? FileManager.default.removeItem(atPath: directory)
}

// One erasure epoch (KEK rotation of the tenant + root rotation) after shredding one conversation.
print("| conversations | populate (s) | epoch (s) | DEKs re-wrapped/s in the epoch | data.mdb (MiB) |")
print("| ---: | ---: | ---: | ---: | ---: |")
for size in options.sizes {
    let directory = root + "/epoch-\(size)"
    var vault: Vault?
    let populateTime = try await seconds { vault = try await populate(directory, size: size) }
    guard let vault else { continue }
    _ = try await vault.shredConversation(tenant: "bench", conversationID: "conversation-0")
    let epochTime = try await seconds { try await vault.runErasureEpoch() }
    let fileSize = (try? FileManager.default.attributesOfItem(atPath: directory + "/store/data.mdb")[.size] as? Int) ?? 0
    print(String(format: "| %d | %.1f | %.2f | %.0f | %.0f |", size, populateTime, epochTime,
                 Double(size - 1) / epochTime, Double(fileSize) / 1_048_576))
    vault.close()
    try? FileManager.default.removeItem(atPath: directory)
}
print(String(format: "peak RSS: %.0f MiB", peakRSSMiB()))
