/// The outcome of one run: every measured round trip and the window they fell in.
struct Report {
    let options: Options
    /// Round-trip latencies in nanoseconds, sorted.
    let latencies: [Int64]
    let errors: Int
    let mismatches: Int
    /// From the end of the warmup to the last measured response, in seconds.
    let window: Double
    let setupSeconds: Double

    init(options: Options, samples: [Int64], errors: Int, mismatches: Int, window: Double, setupSeconds: Double) {
        self.options = options
        latencies = samples.sorted()
        self.errors = errors
        self.mismatches = mismatches
        self.window = window
        self.setupSeconds = setupSeconds
    }

    var operations: Int { latencies.count }

    var opsPerSecond: Double { window > 0 ? Double(operations) / window : 0 }

    /// Messages moved per second: one per append, a page per read.
    var messagesPerSecond: Double { opsPerSecond * Double(options.mode == .append ? 1 : options.page) }

    /// The nearest-rank percentile `p` (0...1), in milliseconds.
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let rank = Int((p * Double(latencies.count)).rounded(.up))
        return Double(latencies[min(max(rank, 1), latencies.count) - 1]) / 1e6
    }

    var meanMs: Double {
        guard !latencies.isEmpty else { return 0 }
        return Double(latencies.reduce(0, +)) / Double(latencies.count) / 1e6
    }

    var maxMs: Double { Double(latencies.last ?? 0) / 1e6 }

    func jsonLine() -> String {
        var fields: [(String, String)] = [
            ("tool", quoted("tvault-load")),
            ("mode", quoted(options.mode.rawValue)),
            ("client", quoted(options.client.rawValue)),
            ("connections", String(options.connections)),
            ("pipeline", String(options.pipeline)),
            ("message_bytes", String(options.messageBytes)),
        ]
        if options.mode == .read {
            fields.append(("page", String(options.page)))
            fields.append(("prefill", String(options.prefill)))
        }
        fields += [
            ("seconds", fixed(window, 3)),
            ("ops", String(operations)),
            ("errors", String(errors)),
            ("mismatches", String(mismatches)),
            ("ops_per_sec", fixed(opsPerSecond, 1)),
            ("messages_per_sec", fixed(messagesPerSecond, 1)),
            ("mean_ms", fixed(meanMs, 4)),
            ("p50_ms", fixed(percentile(0.50), 4)),
            ("p90_ms", fixed(percentile(0.90), 4)),
            ("p99_ms", fixed(percentile(0.99), 4)),
            ("p999_ms", fixed(percentile(0.999), 4)),
            ("max_ms", fixed(maxMs, 4)),
            ("setup_seconds", fixed(setupSeconds, 3)),
        ]
        if let label = options.label { fields.append(("label", quoted(label))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    func summary() -> String {
        let what = options.mode == .append
            ? "append \(options.messageBytes) B"
            : "read \(options.page)-message pages"
        var text = "\(what), \(options.connections) connection(s) x pipeline \(options.pipeline): "
        text += "\(operations) ops in \(fixed(window, 2)) s = \(fixed(opsPerSecond, 0)) ops/s"
        if options.mode == .read { text += " (\(fixed(messagesPerSecond, 0)) messages/s)" }
        text += "; latency p50 \(fixed(percentile(0.5), 3)) ms, p99 \(fixed(percentile(0.99), 3)) ms"
        text += ", mean \(fixed(meanMs, 3)) ms, max \(fixed(maxMs, 3)) ms"
        if errors > 0 || mismatches > 0 { text += "; \(errors) error(s), \(mismatches) short page(s)" }
        return text
    }
}

/// `value` with `decimals` digits after the point, without Foundation.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "null" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let units = Int64(scaled)
    let power = Int64(scale)
    let whole = String(units / power)
    let sign = value < 0 && units != 0 ? "-" : ""
    guard decimals > 0 else { return sign + whole }
    let fraction = String(units % power)
    return sign + whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
}

private func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

extension Duration {
    /// The duration in nanoseconds (saturating far beyond any round trip).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var seconds: Double { Double(nanoseconds) / 1e9 }
}
