import ArgumentParser
import TranscriptAPI
import TranscriptServer
import TranscriptVault

/// `tvault serve`'s limits: what `auth` reports under `limits`, and exactly what the server
/// enforces.
///
/// Sizes are in bytes, timeouts in whole seconds. Every value must fit what `auth` can report
/// (at most 2147483647). A message must fit in a line, and the deadline before `auth` cannot
/// outlast the idle timeout: a lower line limit (or idle timeout) given alone lowers the
/// default message limit (or deadline) to match; a pair that disagrees is refused.
struct ServeLimitOptions: ParsableArguments {
    /// The largest value any limit may take: `auth` reports limits as 32-bit integers.
    static let largest = Int(Int32.max)
    /// The shortest line limit: room for `auth` or an admin request naming a long path.
    static let smallestLine = 4096
    /// The shallowest JSON depth limit that still admits an append (request, `params`,
    /// `messages`, then the message object).
    static let shallowestDepth = 4
    /// The deepest JSON depth limit: the parser is iterative, but nesting of some tens of
    /// thousands of levels exhausts an event loop's stack elsewhere; 1000 keeps a wide margin.
    static let deepestDepth = 1000
    static let defaults = APILimits()
    static let defaultAuthTimeout = Int(defaults.unauthenticatedIdleTimeoutMs / 1000)
    static let defaultIdleTimeout = Int(defaults.idleTimeoutMs / 1000)

    @Option(name: .customLong("max-line-bytes"), help: ArgumentHelp(
        "The longest request line, in bytes (default: 16777216, i.e. 16 MiB; at least 4096). A longer line is answered with -32013 and the connection closed.",
        valueName: "bytes"))
    var maxLineBytes: Int?

    @Option(name: .customLong("max-message-bytes"), help: ArgumentHelp(
        "The largest message (and metadata) object in an append, in bytes (default: 4194304, i.e. 4 MiB, or --max-line-bytes when lower).",
        valueName: "bytes"))
    var maxMessageBytes: Int?

    @Option(name: .customLong("max-messages-per-append"), help: ArgumentHelp(
        "The most messages in one conversation.append (default: 1000).", valueName: "count"))
    var maxMessagesPerAppend: Int?

    @Option(name: .customLong("max-json-depth"), help: ArgumentHelp(
        "The deepest JSON nesting accepted in a request, in levels (default: 64; 4, which an append needs, to 1000).",
        valueName: "levels"))
    var maxJSONDepth: Int?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "Seconds an authenticated connection may stay idle before it is closed (default: 300, i.e. 5 minutes).",
        valueName: "seconds"))
    var idleTimeout: Int?

    @Option(name: .customLong("auth-timeout"), help: ArgumentHelp(
        "Seconds a connection may take to authenticate before it is closed (default: 10, or --idle-timeout when lower).",
        valueName: "seconds"))
    var authTimeout: Int?

    @Option(name: .customLong("max-connections"), help: ArgumentHelp(
        "The most simultaneous client connections; a further one gets -32050 (default: 1024).", valueName: "count"))
    var maxConnections: Int?

    @Option(name: .customLong("rate-limit"), help: ArgumentHelp(
        "Requests per second per token; 0 for no limit.", valueName: "requests"))
    var rateLimit: Int = 10_000

    @Option(name: .customLong("rate-burst"), help: ArgumentHelp(
        "Requests a token may make at once before --rate-limit applies (default: 2 seconds' worth, i.e. 2 × --rate-limit).",
        valueName: "requests"))
    var rateBurst: Int?

    func validate() throws {
        try Self.check(maxLineBytes, "--max-line-bytes", from: Self.smallestLine, unit: "bytes")
        let lineBytes = maxLineBytes ?? Self.defaults.lineBytes
        try Self.check(maxMessageBytes, "--max-message-bytes", from: 1, unit: "bytes")
        if let maxMessageBytes, maxMessageBytes > lineBytes {
            let line = maxLineBytes == nil ? "the default line limit (\(lineBytes) bytes)" : "--max-line-bytes (\(lineBytes))"
            throw ValidationError("--max-message-bytes (\(maxMessageBytes)) cannot exceed \(line): a message travels in one line")
        }
        try Self.check(maxMessagesPerAppend, "--max-messages-per-append", from: 1, unit: "messages")
        try Self.check(maxJSONDepth, "--max-json-depth", from: Self.shallowestDepth, to: Self.deepestDepth, unit: "levels")
        try Self.check(idleTimeout, "--idle-timeout", from: 1, unit: "seconds")
        try Self.check(authTimeout, "--auth-timeout", from: 1, unit: "seconds")
        if let authTimeout, let idleTimeout, authTimeout > idleTimeout {
            throw ValidationError("--auth-timeout (\(authTimeout) s) cannot exceed --idle-timeout (\(idleTimeout) s)")
        }
        try Self.check(maxConnections, "--max-connections", from: 1, unit: "connections")
        try Self.check(rateLimit, "--rate-limit", from: 0, unit: "requests per second")
        try Self.check(rateBurst, "--rate-burst", from: 1, unit: "requests")
        if rateBurst != nil, rateLimit == 0 {
            throw ValidationError("--rate-burst needs a rate limit, but --rate-limit is 0 (no limit)")
        }
    }

    /// The limits these options give, every unset one at its default.
    var limits: APILimits {
        var limits = APILimits()
        limits.lineBytes = maxLineBytes ?? limits.lineBytes
        limits.messageBytes = maxMessageBytes ?? min(limits.messageBytes, limits.lineBytes)
        limits.messagesPerAppend = maxMessagesPerAppend ?? limits.messagesPerAppend
        limits.jsonDepth = maxJSONDepth ?? limits.jsonDepth
        let idle = idleTimeout ?? Self.defaultIdleTimeout
        limits.idleTimeoutMs = Int64(idle) * 1000
        limits.unauthenticatedIdleTimeoutMs = Int64(authTimeout ?? min(Self.defaultAuthTimeout, idle)) * 1000
        limits.connections = maxConnections ?? limits.connections
        limits.requestsPerSecond = rateLimit == 0 ? nil : rateLimit
        return limits
    }

    /// Sets the server's limits and rate burst.
    func configure(_ server: inout ServerConfiguration) {
        server.limits = limits
        if let rateBurst { server.burst = rateBurst }
    }

    /// Sets the engine's own checks of message size and count to the same limits, so that
    /// what the server reports is what an append meets.
    func configure(_ engine: inout Vault.Configuration) {
        let limits = limits
        engine.maxMessageBytes = limits.messageBytes
        engine.maxMessagesPerAppend = limits.messagesPerAppend
    }

    /// Refuses `value` (when given) below `lowest` or above `highest`.
    private static func check(_ value: Int?, _ option: String, from lowest: Int, to highest: Int = largest, unit: String) throws {
        guard let value, !(lowest...highest).contains(value) else { return }
        throw ValidationError("\(option) must be between \(lowest) and \(highest) \(unit), not \(value)")
    }
}
