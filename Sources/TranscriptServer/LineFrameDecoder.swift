public import NIOCore

/// One unit read from a connection: a complete line, or the news that a line outgrew the limit.
public enum Frame: Sendable {
    /// The bytes of one line, without its `\n`.
    case line(ByteBuffer)
    /// A line longer than the limit arrived; the connection must be answered and closed.
    case tooLong
}

/// The line limit of one connection, which its handler may change as it goes (a connection
/// that has not authenticated gets a small one). Used on the connection's event loop only.
public final class LineLimit: @unchecked Sendable {
    // Invariant for the unchecked Sendable: read and written only on the connection's event loop.
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }
}

/// Splits a byte stream into `\n`-terminated lines of at most `maxLineBytes` bytes (or, given a
/// ``LineLimit``, of at most its current value).
///
/// A line that grows past the limit is reported once as ``Frame/tooLong``, and everything
/// after it is discarded: framing is lost, so the connection is answered and closed.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private let limit: LineLimit
    private var scanned = 0
    private var overflowed = false

    public init(maxLineBytes: Int) { self.limit = LineLimit(bytes: maxLineBytes) }

    /// A decoder whose limit follows `limit`, checked for each line.
    public init(limit: LineLimit) { self.limit = limit }

    private var maxLineBytes: Int { limit.bytes }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if overflowed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let readable = buffer.readableBytesView
        if let newline = readable[(readable.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - readable.startIndex
            scanned = 0
            if length > maxLineBytes { return overflow(context: context, buffer: &buffer) }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            // A CR before the LF is tolerated and dropped.
            if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            context.fireChannelRead(Self.wrapInboundOut(.line(line)))
            return .continue
        }
        scanned = readable.count
        if scanned > maxLineBytes { return overflow(context: context, buffer: &buffer) }
        return .needMoreData
    }

    private mutating func overflow(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        overflowed = true
        scanned = 0
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(Self.wrapInboundOut(.tooLong))
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A final line without `\n` is still a request.
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !overflowed, buffer.readableBytes > 0, let line = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        }
        return .needMoreData
    }
}
