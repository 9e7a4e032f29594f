internal import NIOCore

/// Sent down the pipeline when a connection authenticates, switching it from the short
/// unauthenticated deadline to the idle timeout.
struct ConnectionAuthenticated: Sendable {}

/// Sent by the connection when a failed `auth` leaves an authenticated connection without a grant.
struct ConnectionUnauthenticated: Sendable {}

/// How many of a connection's requests the server is still working on (appends waiting for
/// their commit, long calls in a task). Shared by the connection's handlers on its event loop.
final class ConnectionWork {
    var running = 0
}

/// Closes a connection that has not authenticated within `unauthenticatedTimeout` of
/// connecting (however busy it is: a slow drip of bytes does not extend it), or that has been
/// idle for `idleTimeout` after authenticating. A connection is not idle while the server works
/// on one of its requests (a long erase, say): the timeout counts from the answer.
final class ConnectionTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let unauthenticatedTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var authenticated: Bool
    private var lastActivity = NIODeadline.now()
    private var connectDeadline = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private let work: ConnectionWork
    /// The connection authenticated once: past its deadline after losing its grant (a failed
    /// `auth`, a revoked token), it is closed once the answers it is owed have gone out.
    private var wasAuthenticated = false
    /// A close waits for the answers already written to go out.
    private var closing = false

    init(unauthenticatedTimeout: TimeAmount, idleTimeout: TimeAmount, authenticated: Bool, work: ConnectionWork) {
        self.unauthenticatedTimeout = unauthenticatedTimeout
        self.idleTimeout = idleTimeout
        self.authenticated = authenticated
        self.work = work
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connectDeadline = .now() + unauthenticatedTimeout
        lastActivity = .now()
        if context.channel.isActive { schedule(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { schedule(context: context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ConnectionAuthenticated {
            authenticated = true
            wasAuthenticated = true
            lastActivity = .now()
            // The pending timer is for the connect deadline; the idle timeout may end sooner.
            timer?.cancel()
            schedule(context: context)
            return
        }
        if event is ConnectionUnauthenticated {
            // Back to the deadline after connecting, however long ago that was: a connection
            // past it is closed once the answer to the failed `auth` is written.
            authenticated = false
            timer?.cancel()
            schedule(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Looks again at `deadline`, by default the one that applies now.
    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline? = nil) {
        let deadline = deadline ?? (authenticated ? lastActivity + idleTimeout : connectDeadline)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        timer = nil
        guard context.channel.isActive, !closing else { return }
        let expired = authenticated ? NIODeadline.now() >= lastActivity + idleTimeout : NIODeadline.now() >= connectDeadline
        if expired && authenticated && work.running > 0 {
            // Still working on a request: look again one timeout from now (the answer's write
            // restarts the count in any case).
            lastActivity = .now()
            schedule(context: context)
        } else if expired && work.running > 0 {
            // Unauthenticated again (a failed `auth`, a revoked token) with requests it sent
            // before still running: their answers are owed first.
            schedule(context: context, at: .now() + .milliseconds(10))
        } else if expired && wasAuthenticated {
            // Answers it is owed (to requests taken up before, and the refusal) may still wait
            // in the channel: a close would drop them. Close once they have gone out, or after
            // one idle timeout for a peer that does not read them.
            closing = true
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
            timer = context.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
        } else if expired {
            context.close(promise: nil)
        } else {
            schedule(context: context)
        }
    }
}
