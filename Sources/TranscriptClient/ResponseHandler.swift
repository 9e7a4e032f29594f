internal import NIOCore

/// A request line and the promise its response line fulfils.
struct OutboundRequest {
    let line: ByteBuffer
    let promise: EventLoopPromise<[UInt8]>?
}

/// Splits responses into lines and hands each to the oldest waiting request: the server
/// answers in request order, so a FIFO of promises is enough for pipelining.
final class ResponseHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<[UInt8]>>()
    private var buffer: ByteBuffer?
    /// How many of the buffer's readable bytes are known to hold no newline: a long line that
    /// comes in many reads is searched once, not from its start at every read.
    private var scanned = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        while let view = buffer?.readableBytesView,
              let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            let line = buffer!.readBytes(length: length)!
            buffer!.moveReaderIndex(forwardBy: 1)
            scanned = 0
            if let promise = waiting.popFirst() { promise.succeed(line) }
        }
        guard let remaining = buffer?.readableBytes, remaining > 0 else {
            buffer = nil
            scanned = 0
            return
        }
        scanned = remaining
        // The lines handed out are dropped once they outweigh the partial line kept, which is
        // moved to the front: memory stays about one line, and each byte moves a bounded number
        // of times.
        if buffer!.readerIndex >= remaining { buffer!.discardReadBytes() }
    }

    /// The bytes of storage the handler holds for lines not yet complete, for tests.
    var bufferedCapacity: Int { buffer?.capacity ?? 0 }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let response = request.promise { waiting.append(response) }
        context.write(wrapOutboundOut(request.line), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll()
        context.close(promise: nil)
    }

    private func failAll() {
        while let promise = waiting.popFirst() { promise.fail(ClientError.connectionClosed) }
    }
}
