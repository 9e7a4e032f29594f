internal import NIOCore
import Synchronization

/// An admin connection between its event loop and the task that serves it: the frames read,
/// in order, and the channel to answer on.
///
/// It is made in the listener's child initializer. Unlike an `NIOAsyncChannel`, which traps
/// when it is released unserved, it may be dropped: a connection accepted in the moment the
/// listener closes can be left out of the listener's stream, and the event loops' shutdown
/// then closes it.
struct AdminChannel: Sendable {
    let channel: any Channel
    let frames: AsyncStream<Frame>
    private let flow: Flow

    /// Frames read but not yet taken: reading pauses above `pauseAbove` and resumes at
    /// `resumeAt`, so that a client cannot queue requests without bound.
    final class Flow: Sendable {
        let pending = Atomic<Int>(0)
        static let pauseAbove = 64
        static let resumeAt = 16
    }

    /// Installs the line decoder and the bridge on `channel`; on its event loop.
    static func install(on channel: any Channel, lineBytes: Int) throws -> AdminChannel {
        let (frames, continuation) = AsyncStream.makeStream(of: Frame.self)
        let flow = Flow()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(LineFrameDecoder(maxLineBytes: lineBytes)),
            Bridge(continuation: continuation, flow: flow),
        ])
        return AdminChannel(channel: channel, frames: frames, flow: flow)
    }

    /// Whether frames read wait in `frames`, not yet taken: requests the connection owes answers to.
    var hasWaitingFrames: Bool { flow.pending.load(ordering: .sequentiallyConsistent) > 0 }

    /// Says that a frame was taken from `frames`; resumes reading if it was paused.
    func taken() {
        if flow.pending.subtract(1, ordering: .sequentiallyConsistent).newValue == Flow.resumeAt {
            let channel = channel
            channel.eventLoop.execute { try? channel.syncOptions?.setOption(.autoRead, value: true) }
        }
    }

    /// Writes `line` and returns once it has been handed to the kernel.
    func write(_ line: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: line)).get()
    }

    /// Closes the connection (everything written before has been handed to the kernel).
    func close() async {
        try? await channel.close().get()
    }

    /// Hands each frame to the stream; ends it when the client stops sending or the connection
    /// goes.
    private final class Bridge: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame

        let continuation: AsyncStream<Frame>.Continuation
        let flow: Flow

        init(continuation: AsyncStream<Frame>.Continuation, flow: Flow) {
            self.continuation = continuation
            self.flow = flow
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Counted before it can be taken, so that the count never goes below zero, and a
            // drain never sees a frame read and not counted.
            let pending = flow.pending.add(1, ordering: .sequentiallyConsistent).newValue
            continuation.yield(unwrapInboundIn(data))
            if pending == Flow.pauseAbove + 1 {
                try? context.channel.syncOptions?.setOption(.autoRead, value: false)
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed { continuation.finish() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            continuation.finish()
            context.close(promise: nil)
        }
    }
}
