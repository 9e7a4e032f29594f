import NIOCore
import Testing
@testable import TranscriptServer

/// The line framing every client connection uses: the same lines, whatever pieces the bytes
/// arrive in.
@Suite("Line splitter")
struct LineSplitterTests {
    /// Feeds `stream` in pieces cut at `cuts` to the unframed lines of a connection, framing
    /// after each piece as its handler does, and returns every frame, then the rest once the
    /// stream has ended.
    static func frames(of stream: [UInt8], cutAt cuts: [Int], limit: Int) -> [Frame] {
        var unframed = UnframedLines()
        var frames: [Frame] = []
        var start = 0
        for end in cuts.sorted() + [stream.count] where end >= start {
            var piece = ByteBuffer(bytes: stream[start..<end])
            start = end
            unframed.append(&piece)
            while let frame = unframed.next(limit: limit, ended: false) { frames.append(frame) }
        }
        while let last = unframed.next(limit: limit, ended: true) { frames.append(last) }
        return frames
    }

    /// The frames as text: a line's bytes, or `TOO LONG`.
    static func describe(_ frames: [Frame]) -> [String] {
        frames.map { frame in
            switch frame {
            case .line(let buffer): String(decoding: buffer.readableBytesView, as: UTF8.self)
            case .tooLong: "TOO LONG"
            }
        }
    }

    @Test("random lines cut into random pieces give the same lines; CRLF loses its CR; a last line needs no newline")
    func randomPieces() {
        var random = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var lines: [String] = []
            var stream: [UInt8] = []
            for index in 0..<Int.random(in: 0...20, using: &random) {
                let line = String(repeating: "ab", count: Int.random(in: 0...40, using: &random)) + "\(round).\(index)"
                lines.append(line)
                stream += Array(line.utf8) + (Bool.random(using: &random) ? [13, 10] : [10])
            }
            var expected = lines
            if Bool.random(using: &random) {
                // A last line without its newline.
                expected.append("tail\(round)")
                stream += Array("tail\(round)".utf8)
            }
            let cuts = (0..<Int.random(in: 0...12, using: &random)).map { _ in Int.random(in: 0...stream.count, using: &random) }
            let got = Self.describe(Self.frames(of: stream, cutAt: cuts, limit: 200))
            #expect(got == expected, "round \(round), cut at \(cuts.sorted())")
        }
    }

    @Test("a line of exactly the limit passes, one byte more is too long, however it is cut; nothing after it is framed")
    func limitAcrossPieces() {
        let limit = 64
        let atLimit = Array(repeating: UInt8(ascii: "a"), count: limit) + [10]
        let over = Array(repeating: UInt8(ascii: "b"), count: limit + 1) + [10]
        let after = Array("{}\n".utf8)
        for cut in 0...(atLimit.count + over.count) {
            let frames = Self.describe(Self.frames(of: atLimit + over + after, cutAt: [cut], limit: limit))
            #expect(frames == [String(repeating: "a", count: limit), "TOO LONG"], "cut at \(cut)")
        }
        // Without any newline, the line is too long as soon as it passes the limit.
        let endless = Array(repeating: UInt8(ascii: "c"), count: limit + 1)
        #expect(Self.describe(Self.frames(of: endless, cutAt: [10, 40], limit: limit)) == ["TOO LONG"])
        // A CR counts toward the limit: the line is measured before it is dropped.
        let withCR = Array(repeating: UInt8(ascii: "d"), count: limit) + [13, 10]
        #expect(Self.describe(Self.frames(of: withCR, cutAt: [], limit: limit)) == ["TOO LONG"])
    }
}
