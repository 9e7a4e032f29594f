#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What each request does.
enum Mode: String, Sendable {
    /// `conversation.append` of one message (durable: answered after the commit's fsync).
    case append
    /// `conversation.read` of a page at a random `after_seq` of a prefilled conversation.
    case read
}

/// Which client drives the connections.
enum ClientKind: String, Sendable {
    /// `TranscriptClient` (SwiftNIO, async): what a Swift application using it pays.
    case typed
    /// One thread for every connection, waiting in `poll(2)`, with pre-encoded lines:
    /// redis-benchmark's design, so the server is what is measured.
    case poll
    /// The same with a thread per connection blocking on its own socket.
    case posix
}

/// A usage or setup error; printed and exit status 2 (usage) or 1 (run).
struct LoadError: Error, CustomStringConvertible {
    let description: String
    let isUsage: Bool

    init(_ description: String, usage: Bool = false) {
        self.description = description
        isUsage = usage
    }
}

/// `tvault-load` options.
struct Options: Sendable {
    var socket = ""
    var token = ""
    var tenant: String?
    var connections = 1
    var seconds = 5.0
    var warmup = 0.5
    var mode = Mode.append
    var client = ClientKind.poll
    var messageBytes = 1024
    var pipeline = 1
    var page = 100
    var prefill = 1000
    var label: String?
    var nioExecutor = true
    /// With the typed client: decode every response into typed results (a real client's work)
    /// or only check its head.
    var decode = true
    var quiet = false

    static let usage = """
    usage: tvault-load --socket PATH --token TOKEN --mode append|read [options]

    A closed-loop load generator for the TranscriptVault socket: N connections, each keeping
    --pipeline requests in flight, for --seconds after an unmeasured --warmup. Every request's
    round trip is timed with the monotonic clock. Prints one JSON line on stdout (ops_per_sec,
    p50_ms, p99_ms, ...) and a readable summary on stderr.

      --socket PATH        the server's client socket (e.g. <data-dir>/tvault.sock)
      --token TOKEN        a bearer token with the append and read scopes (or $TVAULT_TOKEN)
      --tenant NAME        the tenant, when the token covers more than one
      --client poll|posix|typed
                           poll (default): one thread for all connections, waiting in poll(2)
                           for whichever answers, each writing pre-encoded request lines and
                           only checking each response for "result": redis-benchmark's design
                           (a single-threaded event loop), so both servers are driven alike;
                           posix: the same, with a thread per connection blocking on its own
                           socket (each answer then wakes a different client thread);
                           typed: a TranscriptClient (SwiftNIO, async) per connection (what a
                           Swift application using TranscriptClient pays)
      --connections N      connections (default 1)
      --seconds S          measured seconds (default 5)
      --warmup S           unmeasured seconds before (default 0.5)
      --mode MODE          append: one message per conversation.append, one conversation per
                           connection (fresh each run); read: conversation.read pages of
                           --page messages at a random after_seq in a conversation per
                           connection prefilled with --prefill messages (kept across runs;
                           the prefill always goes through TranscriptClient)
      --message-bytes B    bytes of each message object (default 1024)
      --pipeline P         requests in flight per connection (default 1)
      --page N             messages per read page (default 100)
      --prefill N          messages in each read conversation (default 1000)
      --decode full|none   typed client only. full (default): TranscriptClient's typed calls,
                           every response strictly parsed and decoded (what an application
                           pays); none: the same client's sendRaw with a pre-encoded line, the
                           response only checked for "result"
      --label TEXT         copied into the JSON line
      --no-nio-executor    typed client: keep Swift's default global executor (by default
                           the NIO event loops run Swift concurrency too, avoiding a thread
                           hop per request)
      --quiet              no summary on stderr
    """

    static func parse(_ arguments: some Sequence<String>) throws(LoadError) -> Options {
        var options = Options()
        var rest = Array(arguments)[...]
        func value(_ flag: String) throws(LoadError) -> String {
            guard let value = rest.popFirst() else { throw LoadError("\(flag) needs a value", usage: true) }
            return value
        }
        func positive(_ flag: String) throws(LoadError) -> Int {
            let text = try value(flag)
            guard let number = Int(text), number > 0 else { throw LoadError("\(flag): not a positive integer: \(text)", usage: true) }
            return number
        }
        func seconds(_ flag: String) throws(LoadError) -> Double {
            let text = try value(flag)
            guard let number = Double(text), number >= 0, number.isFinite else { throw LoadError("\(flag): not a number of seconds: \(text)", usage: true) }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--socket": options.socket = try value(flag)
            case "--token": options.token = try value(flag)
            case "--tenant": options.tenant = try value(flag)
            case "--connections", "-c": options.connections = try positive(flag)
            case "--seconds": options.seconds = try seconds(flag)
            case "--warmup": options.warmup = try seconds(flag)
            case "--mode":
                let text = try value(flag)
                guard let mode = Mode(rawValue: text) else { throw LoadError("--mode: append or read, not \(text)", usage: true) }
                options.mode = mode
            case "--client":
                let text = try value(flag)
                guard let client = ClientKind(rawValue: text) else { throw LoadError("--client: poll, posix or typed, not \(text)", usage: true) }
                options.client = client
            case "--message-bytes": options.messageBytes = try positive(flag)
            case "--pipeline": options.pipeline = try positive(flag)
            case "--page": options.page = try positive(flag)
            case "--prefill": options.prefill = try positive(flag)
            case "--label": options.label = try value(flag)
            case "--decode":
                let text = try value(flag)
                guard text == "full" || text == "none" else { throw LoadError("--decode: full or none, not \(text)", usage: true) }
                options.decode = text == "full"
            case "--no-nio-executor": options.nioExecutor = false
            case "--quiet": options.quiet = true
            case "-h", "--help": throw LoadError("", usage: true)
            default: throw LoadError("unknown option \(flag)", usage: true)
            }
        }
        if options.token.isEmpty, let environment = getenv("TVAULT_TOKEN") {
            options.token = String(cString: environment)
        }
        guard !options.socket.isEmpty else { throw LoadError("--socket is required", usage: true) }
        guard !options.token.isEmpty else { throw LoadError("--token (or $TVAULT_TOKEN) is required", usage: true) }
        guard options.seconds > 0 else { throw LoadError("--seconds must be more than 0", usage: true) }
        guard options.messageBytes >= Payload.minimumBytes else {
            throw LoadError("--message-bytes must be at least \(Payload.minimumBytes)", usage: true)
        }
        guard options.page <= 1000 else { throw LoadError("--page must be at most 1000", usage: true) }
        guard options.mode == .append || options.prefill >= options.page else {
            throw LoadError("--prefill must be at least --page", usage: true)
        }
        return options
    }
}

/// Writes a line to standard error.
func log(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { break }
            offset += written
        }
    }
}
