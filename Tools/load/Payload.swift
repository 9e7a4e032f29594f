/// The message objects the load appends: `{"role":"user","content":"<letters>"}`, exactly
/// `bytes` long, with random lowercase letters (so nothing downstream gets an easy ride from
/// repetition).
enum Payload {
    private static let head = Array(#"{"role":"user","content":""#.utf8)
    private static let tail = Array(#""}"#.utf8)

    /// The smallest message the shape allows (empty content).
    static let minimumBytes = head.count + tail.count

    static func message(bytes: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var message = head
        message.reserveCapacity(bytes)
        for _ in 0..<(bytes - head.count - tail.count) {
            message.append(UInt8(ascii: "a") + UInt8(truncatingIfNeeded: generator.next() % 26))
        }
        message += tail
        return message
    }
}

/// A small deterministic generator (the load's randomness needs no quality beyond spread).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
