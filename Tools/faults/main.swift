// tvault-faults: runs one key-management scenario on a data directory, for the crash-safety
// tests of TranscriptErasureTests. With `TVAULT_FAULT=<step>` in its environment, a debug build
// kills itself with SIGKILL when the engine reaches that step (see FaultInjection.swift), so a
// test can reopen the directory and check that nothing was lost.
//
// Usage: tvault-faults <data-dir> <scenario> [arguments]
//
//   kek-rotate <tenant> <batch-size>    rotate the tenant's KEK, <batch-size> DEKs per batch
//   root-rotate                         rotate the root key
//   shred-epoch <tenant> <conversation> shred the conversation, then run an erasure epoch
//   subject-epoch <tenant> <subject>    erase the subject, then run an erasure epoch
//   tenant-shred <tenant>               shred the whole tenant now, then run an erasure epoch
//   epoch                               run an erasure epoch
//
// The store must exist (it is opened with its default unlock key file, durable commits).
// Output, one line each, written with write(2) after the step it reports is committed:
//   opened                  the store is open
//   receipt <id>            a shred is done and its receipt was returned
//   rotated <version> <n>   a KEK rotation finished (version, DEKs re-wrapped)
//   root <epoch>            a root rotation finished
//   epoch <epoch|none>      an erasure epoch finished
//   done                    the scenario finished
// Exit status: 0 when the scenario finished, 1 on an error (message on stderr), 64 on bad usage.

import Glibc
import TranscriptVault

func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    var bytes = Array("tvault-faults: \(message)\n".utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    fail("usage: tvault-faults <data-dir> <scenario> [arguments]", status: 64)
}
let directory = arguments[0]
let scenario = arguments[1]
let rest = Array(arguments.dropFirst(2))

func argument(_ index: Int) -> String {
    guard index < rest.count else { fail("scenario \(scenario) needs more arguments", status: 64) }
    return rest[index]
}

do {
    let vault = try Vault.open(Vault.Configuration(dataDirectory: directory))
    emit("opened")
    switch scenario {
    case "kek-rotate":
        guard let batch = Int(argument(1)), batch > 0 else { fail("bad batch size", status: 64) }
        let rotation = try await vault.rotateTenantKEK(argument(0), batchSize: batch)
        emit("rotated \(rotation.version) \(rotation.rewrapped)")
    case "root-rotate":
        emit("root \(try await vault.rotateRoot())")
    case "shred-epoch":
        let receipt = try await vault.shredConversation(tenant: argument(0), conversationID: argument(1))
        emit("receipt \(receipt.id)")
        emit("epoch \(try await vault.runErasureEpoch().epoch.map(String.init) ?? "none")")
    case "subject-epoch":
        let (receipt, _) = try await vault.eraseSubject(tenant: argument(0), subjectID: argument(1))
        emit("receipt \(receipt.id)")
        emit("epoch \(try await vault.runErasureEpoch().epoch.map(String.init) ?? "none")")
    case "tenant-shred":
        let (_, receipt) = try await vault.scheduleTenantShred(argument(0), delayMilliseconds: 0)
        if let receipt { emit("receipt \(receipt.id)") }
        emit("epoch \(try await vault.runErasureEpoch().epoch.map(String.init) ?? "none")")
    case "epoch":
        emit("epoch \(try await vault.runErasureEpoch().epoch.map(String.init) ?? "none")")
    default:
        fail("unknown scenario \(scenario)", status: 64)
    }
    vault.close()
    emit("done")
} catch {
    fail("\(error)")
}
