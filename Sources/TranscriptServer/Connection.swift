internal import NIOCore
import TranscriptAPI
import TranscriptVault
import Dispatch
import Synchronization

/// Serves one client connection on its event loop: starts each request as its line arrives
/// (so that pipelined appends share group commits) and writes the responses strictly in
/// request order.
///
/// The hot path has no task and no thread hop of its own: an append is queued on the store's
/// writer, whose thread hands the durable outcome straight back to this event loop; a read,
/// list or receipt runs here, once every earlier request of the connection has been answered
/// (so it sees the client's own earlier writes). Only delete, erase and export run in a task,
/// and a line of ``Dispatcher/offLoopLineBytes`` or more is decoded beside the loop (its parse
/// could hold every connection of the loop for a good part of a second).
///
/// Requests take effect in request order too. Appends in a row are queued at once (the writer
/// keeps their order), but a request that runs in its turn (a read, a delete, ...) is a barrier:
/// the lines after it are left unframed until it has run. So a read never sees a later append,
/// and a delete or erase never takes an append sent after it, already acknowledged, with it.
///
/// The handler frames its own lines (``UnframedLines``), one at a time, so that it can stop between
/// any two: behind a barrier, while `maxInFlight` requests are unanswered or their answers not yet
/// handed to the kernel, or while the channel holds more answer bytes than its high-water mark (4
/// MiB; a peer that does not read its answers stops being served). Reading the socket pauses
/// meanwhile, so a connection holds at most what one wake-up of its event loop reads (four reads of
/// up to 64 KiB) beyond the line being assembled, and at most `maxInFlight` answers or 4 MiB and
/// one more answer: a client sending lines it knows are refused, and reading nothing, does not make
/// answers pile up. The next ordered request (a read, say) is not started either while the channel
/// holds that much. And one turn of the event loop runs at most ``inlinePerTurn`` ordered requests
/// of a connection before the loop's other connections get theirs.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One request's place in the response order.
    private enum Slot {
        /// Being computed (an append waiting for its commit, or a task).
        case running
        /// Not started: runs when it reaches the head (every earlier request answered); its
        /// answer is dropped for a notification.
        case ordered(Dispatcher.Work, notification: Bool)
        /// Answered; `nil` for a notification.
        case done([UInt8]?)
    }

    private let dispatcher: Dispatcher
    private let registry: ConnectionRegistry
    /// Where the writer thread leaves this event loop's append outcomes.
    private let mailbox: CompletionMailbox
    private let connectionLimit: Int
    /// The most requests a connection may have in flight before reading pauses.
    static let maxInFlight = 256

    private var entry: ConnectionRegistry.Entry?
    private var grant: TokenGrant?
    /// The store's count of revocations when `grant` was checked last (loaded before the
    /// `auth` that returned it): while it is unchanged, no revocation can concern the grant.
    private var grantRevocations: UInt64 = 0
    /// The requests not yet written, in order; `slots[0]` is request number `head`.
    private var slots = CircularBuffer<Slot>(initialCapacity: 8)
    private var head = 0
    /// Requests started in their turn (`ordered` slots, and those running in a task) that have
    /// not finished running: while there are any, no line is framed.
    private var barriers = 0
    /// Bytes read and not yet framed: lines waiting for their turn, and the start of the next.
    private var unframed = UnframedLines()
    /// The bytes of storage held for what is not yet framed.
    var unframedCapacity: Int { unframed.capacity }
    /// An empty write, queued after answers to learn when they have gone out.
    private static let noBytes = ByteBuffer()
    /// The longest line the connection may send now: ``unauthenticatedLineBytes(_:)`` until
    /// `auth` succeeds, the configured limit after.
    private var lineBytes: Int
    /// While framing is paused with bytes left, the connection counts one more request in
    /// flight (a graceful shutdown must answer or refuse the lines among them).
    private var holdsLines = false
    /// The peer half-closed: nothing more is read, and what is left unframed ends with a last
    /// line, which need not end in `\n`.
    private var inputEnded = false
    /// Set after an over-long line, or a connection's refusal: nothing more is framed.
    private var stopped = false
    private var closed = false
    /// Answers written to the channel but not yet handed to the kernel.
    private var unsent = 0
    /// A `read` held back while paused.
    private var readHeld = false
    /// Requests refused (malformed, or needing a token) while the connection had not
    /// authenticated.
    private var refusalsBeforeAuth = 0
    /// The most refused requests a connection may send before it authenticates: the next one
    /// ends it (see `refusedBeforeAuth`). `system.info` is not counted.
    static let maxRefusalsBeforeAuth = 64
    /// An `advance` is queued on the event loop (after the turn's ordered-request budget).
    private var advanceQueued = false
    /// The most ordered requests (reads, lists, ...) one `advance` runs before letting the event
    /// loop serve its other connections.
    static let inlinePerTurn = 8

    /// Counts the `running` slots, for the idle timeout.
    private let work: ConnectionWork
    /// The long line handed to the decoder and not yet back (see `decodeOffLoop`).
    private var pendingLine: PendingLine?

    /// The longest line a connection may send before it has authenticated: `auth` and
    /// `system.info` are short, and a connection without a token must not make the server hold
    /// a 16 MiB line for each of a thousand connections.
    static func unauthenticatedLineBytes(_ limits: APILimits) -> Int { min(64 << 10, limits.lineBytes) }

    init(
        dispatcher: Dispatcher, registry: ConnectionRegistry, mailbox: CompletionMailbox, connectionLimit: Int,
        work: ConnectionWork
    ) {
        self.dispatcher = dispatcher
        self.registry = registry
        self.mailbox = mailbox
        self.connectionLimit = connectionLimit
        self.work = work
        self.lineBytes = Self.unauthenticatedLineBytes(dispatcher.limits)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let entry = registry.add(context.channel, limit: connectionLimit) else {
            let error = RPCError.unavailable(registry.isDraining ? "the server is shutting down" : "too many connections")
            stopped = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: RPCResponse.failureLine(id: .null, error: error))))
                .whenComplete { _ in channel.close(promise: nil) }
            return
        }
        self.entry = entry
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        slots.removeAll()
        unframed.removeAll()
        // A long line still waiting for the decoder is let go, and not decoded: its decode
        // will not call back.
        if let pendingLine, pendingLine.cancel() {
            work.running -= 1
            barriers -= 1
        }
        pendingLine = nil
        if let entry { registry.remove(entry) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped, !inputEnded, !closed, entry != nil else { return }
        var bytes = unwrapInboundIn(data)
        unframed.append(&bytes)
        advance(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputEnded = true
            advance(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The peer has read enough of its answers: go on with the requests held back.
        if context.channel.isWritable { advance(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if mayRead(context: context) {
            context.read()
        } else {
            readHeld = true
        }
    }

    // MARK: Requests

    /// Frames the lines read and starts their requests, in order, until one of them is a
    /// barrier or the connection may take no more for now (see `mayTakeMore`).
    private func frameLines(context: ChannelHandlerContext, entry: ConnectionRegistry.Entry) {
        var paused = false
        while !stopped {
            guard barriers == 0, mayTakeMore(context: context) else {
                paused = true
                break
            }
            guard let frame = unframed.next(limit: lineBytes, ended: inputEnded) else { break }
            entry.inFlight.add(1, ordering: .sequentiallyConsistent)
            accept(frame, context: context, entry: entry)
        }
        unframed.releaseIfEmpty()
        let holds = paused && !stopped && !unframed.isEmpty
        if holds != holdsLines {
            holdsLines = holds
            if holds {
                entry.inFlight.add(1, ordering: .sequentiallyConsistent)
            } else {
                entry.inFlight.subtract(1, ordering: .sequentiallyConsistent)
            }
        }
    }

    /// Gives a line framed its slot.
    private func accept(_ frame: Frame, context: ChannelHandlerContext, entry: ConnectionRegistry.Entry) {
        switch frame {
        case .tooLong:
            // Nothing is framed after an over-long line; the requests before it are still served.
            stopped = true
            let error = RPCError.tooLarge(grant == nil
                ? "the request line exceeds \(lineBytes) bytes, the limit before auth"
                : "the request line exceeds \(lineBytes) bytes")
            slots.append(.done(RPCResponse.failureLine(id: .null, error: error)))
        case .line(let buffer):
            let line = Array(buffer.readableBytesView)
            if line.count >= Dispatcher.offLoopLineBytes {
                decodeOffLoop(line, context: context)
                return
            }
            let slot = start(Result { () throws(RPCRequest.Rejection) in try dispatcher.decode(line) },
                             index: head + slots.count, context: context, entry: entry)
            if case .ordered = slot { barriers += 1 }
            slots.append(slot)
        }
    }

    /// Decodes a long line on the dispatcher's ``Dispatcher/lineDecoder``, not on the event loop:
    /// its parse could hold the loop, and every other connection on it, for a good part of a
    /// second. Its slot waits meanwhile, and it is a barrier: no later line is framed until its
    /// request has started here, so requests still take effect in order.
    private func decodeOffLoop(_ line: [UInt8], context: ChannelHandlerContext) {
        let index = head + slots.count
        slots.append(.running)
        barriers += 1
        work.running += 1
        let dispatcher = dispatcher
        let pending = PendingLine(line, connection: NIOLoopBound((self, context), eventLoop: context.eventLoop))
        pendingLine = pending
        dispatcher.lineDecoder.async {
            // Nothing left when the connection closed meanwhile.
            guard let (line, loop) = pending.take() else { return }
            let decoded = Result { () throws(RPCRequest.Rejection) in try dispatcher.decode(line) }
            loop.eventLoop.execute {
                let (handler, context) = loop.value
                handler.decodedOffLoop(decoded, index: index, context: context)
            }
        }
    }

    /// Starts the request of a line decoded off the loop, in its slot, and goes on.
    private func decodedOffLoop(_ decoded: Result<RPCRequest, RPCRequest.Rejection>, index: Int, context: ChannelHandlerContext) {
        pendingLine = nil
        work.running -= 1
        barriers -= 1
        guard !closed, let entry, index >= head, index < head + slots.count else { return }
        let slot = start(decoded, index: index, context: context, entry: entry)
        if case .ordered = slot { barriers += 1 }
        slots[offset: index - head] = slot
        advance(context: context)
    }

    /// Starts the request of a decoded line, whose slot is request number `index`; returns
    /// that slot.
    private func start(
        _ decoded: Result<RPCRequest, RPCRequest.Rejection>, index: Int, context: ChannelHandlerContext,
        entry: ConnectionRegistry.Entry
    ) -> Slot {
        let request: RPCRequest
        switch decoded {
        case .success(let decodedRequest):
            request = decodedRequest
        case .failure(let error):
            return refusedBeforeAuth(id: error.id, notification: false) ?? .done(error.responseLine)
        }
        let notification = request.isNotification
        if entry.draining.load(ordering: .acquiring) {
            let line = RPCResponse.failureLine(id: request.responseID, error: .unavailable("the server is shutting down"))
            return .done(notification ? nil : line)
        }
        if request.method == RPCMethod.auth.rawValue {
            // Handled in order, before the next line, so that later requests see it.
            grantRevocations = dispatcher.vault.revocationCount
            let (line, newGrant) = dispatcher.authenticate(request)
            let wasAuthenticated = grant != nil
            grant = newGrant
            // The lines after this one are held to the limit of the connection's new state.
            lineBytes = newGrant == nil ? Self.unauthenticatedLineBytes(dispatcher.limits) : dispatcher.limits.lineBytes
            if newGrant != nil {
                // Refusals are counted while a connection has not authenticated: one that does
                // starts afresh, should it lose its grant later.
                refusalsBeforeAuth = 0
                context.pipeline.fireUserInboundEventTriggered(ConnectionAuthenticated())
            } else {
                // Unauthenticated again: its deadline, counted from the connect, applies again.
                if wasAuthenticated { context.pipeline.fireUserInboundEventTriggered(ConnectionUnauthenticated()) }
                if let refused = refusedBeforeAuth(id: request.responseID, notification: notification) { return refused }
            }
            return .done(notification ? nil : line)
        }
        if let current = grant {
            let revocations = dispatcher.vault.revocationCount
            if revocations != grantRevocations {
                grantRevocations = revocations
                if dispatcher.vault.isRevoked(current) {
                    // Its token was revoked after this connection authenticated: it is
                    // unauthenticated again, and its connect deadline, long past, closes it
                    // once this answer is written. Requests taken up before are answered.
                    // `system.info` too makes it so (it needs no token, and is answered):
                    // else a connection could keep a revoked grant, and its slot, forever.
                    grant = nil
                    lineBytes = Self.unauthenticatedLineBytes(dispatcher.limits)
                    context.pipeline.fireUserInboundEventTriggered(ConnectionUnauthenticated())
                    if request.method != RPCMethod.systemInfo.rawValue {
                        let line = RPCResponse.failureLine(id: request.responseID, error: .unauthenticated("the token was revoked"))
                        return .done(notification ? nil : line)
                    }
                }
            }
        }
        if grant == nil, request.method != RPCMethod.systemInfo.rawValue,
           let refused = refusedBeforeAuth(id: request.responseID, notification: notification) {
            return refused
        }
        let work = dispatcher.prepare(request, grant: grant, connection: ObjectIdentifier(self))
        switch work {
        case .answered(let line):
            return .done(notification ? nil : line)
        case .append(let ticket, let respond):
            let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            // Called on the writer thread, which every connection waits for: the answer is
            // encoded on this event loop instead, woken once per batch through the mailbox.
            self.work.running += 1
            let mailbox = mailbox
            ticket.whenComplete(observer: mailbox) { outcome in
                mailbox.post {
                    let (handler, context) = loop.value
                    handler.complete(index, with: notification ? nil : respond(outcome), context: context)
                }
            }
            return .running
        case .inline, .background:
            return .ordered(work, notification: notification)
        }
    }

    /// Counts a request refused on a connection that has not authenticated; past
    /// ``maxRefusalsBeforeAuth`` returns the slot that answers it (`-32001`) and ends the
    /// connection. Every line is answered, so a client without a token that sends lines it
    /// knows are refused, and reads nothing, would otherwise make answers pile up.
    /// The answer carries the request's `id`; a notification gets none.
    private func refusedBeforeAuth(id: RPCID, notification: Bool) -> Slot? {
        guard grant == nil else { return nil }
        refusalsBeforeAuth += 1
        guard refusalsBeforeAuth > Self.maxRefusalsBeforeAuth else { return nil }
        stopped = true
        let error = RPCError.unauthenticated("more than \(Self.maxRefusalsBeforeAuth) refused requests before auth")
        return .done(notification ? nil : RPCResponse.failureLine(id: id, error: error))
    }

    /// A running request (an append or a long call) has its answer.
    private func complete(_ index: Int, with line: [UInt8]?, context: ChannelHandlerContext) {
        work.running -= 1
        guard !closed, index >= head, index < head + slots.count else { return }
        slots[offset: index - head] = .done(line)
        advance(context: context)
    }

    /// Writes every answer at the head that is known, starting ordered work as it reaches the
    /// head; then closes if the connection is finishing and owes nothing.
    private func advance(context: ChannelHandlerContext) {
        guard !closed, let entry else { return }
        frameLines(context: context, entry: entry)
        let firstHead = head
        var wrote = 0
        var last: ByteBuffer?
        var started = 0
        loop: while let first = slots.first {
            switch first {
            case .running:
                break loop
            case .ordered(let work, let notification):
                // Not while the answers already owed fill the channel (it resumes when the
                // channel drains), and not more than a turn's worth at once. The answer held
                // back for the flush below is handed to the channel first, so that it counts.
                if let answer = last {
                    context.write(wrapOutboundOut(answer), promise: nil)
                    last = nil
                }
                guard context.channel.isWritable else { break loop }
                guard started < Self.inlinePerTurn else {
                    queueAdvance(context: context)
                    break loop
                }
                started += 1
                switch work {
                case .inline(let body):
                    let line = body()
                    slots[slots.startIndex] = .done(notification ? nil : line)
                    barriers -= 1
                    frameLines(context: context, entry: entry)
                case .background(let body):
                    slots[slots.startIndex] = .running
                    self.work.running += 1
                    let index = head
                    let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                    Task {
                        let line = await body()
                        loop.eventLoop.execute {
                            let (handler, context) = loop.value
                            handler.barriers -= 1
                            handler.complete(index, with: notification ? nil : line, context: context)
                        }
                    }
                    break loop
                case .answered, .append:
                    preconditionFailure("only inline and background work waits for its turn")
                }
            case .done(let line):
                slots.removeFirst()
                head += 1
                if let line {
                    if let last { context.write(wrapOutboundOut(last), promise: nil) }
                    last = ByteBuffer(bytes: line)
                    wrote += 1
                } else {
                    // A notification owes nothing once done.
                    entry.inFlight.subtract(1, ordering: .sequentiallyConsistent)
                }
            }
        }
        if wrote > 0 {
            // One promise for the batch: the last answer (or, when it has gone to the channel
            // already, an empty write after it) is handed to the kernel after the others.
            // Until then the connection still owes them: a graceful shutdown must not close it,
            // and it goes on reading (and refusing) what the client sends meanwhile.
            unsent += wrote
            let written = wrote
            let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(last ?? Self.noBytes)).whenComplete { _ in
                let (handler, context) = loop.value
                handler.unsent -= written
                entry.inFlight.subtract(written, ordering: .sequentiallyConsistent)
                if handler.holdsLines {
                    // Lines wait for room: frame them in the loop's next turn (this may run
                    // within the write above), after its other connections.
                    handler.queueAdvance(context: context)
                } else {
                    entry.closeIfIdle()
                    handler.resumeReadingIfAllowed(context: context)
                }
            }
        } else if holdsLines && head > firstHead {
            // Slots left without a write (notifications, which owe nothing): no write's
            // completion will frame the lines held for want of the room they made, and the socket
            // is not read while lines are held, so nothing else would. Frame them in the loop's
            // next turn, after its other connections.
            queueAdvance(context: context)
        }
        if (stopped || inputEnded) && slots.isEmpty && (stopped || unframed.isEmpty) {
            closed = true
            // A close drops writes not yet handed to the kernel: close once they have gone out.
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(Self.noBytes)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        entry.closeIfIdle()
        resumeReadingIfAllowed(context: context)
    }

    // MARK: Back-pressure

    /// Whether another line may be framed and started: fewer than `maxInFlight` answers owed
    /// or not yet handed to the kernel, and the channel below its high-water mark.
    private func mayTakeMore(context: ChannelHandlerContext) -> Bool {
        slots.count + unsent < Self.maxInFlight && context.channel.isWritable
    }

    /// Whether the socket may be read: only once every complete line read has been framed.
    private func mayRead(context: ChannelHandlerContext) -> Bool {
        !stopped && !holdsLines && barriers == 0 && mayTakeMore(context: context)
    }

    /// Runs `advance` again in a later turn of the event loop, once.
    private func queueAdvance(context: ChannelHandlerContext) {
        guard !advanceQueued else { return }
        advanceQueued = true
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loop.value
            handler.advanceQueued = false
            handler.advance(context: context)
        }
    }

    private func resumeReadingIfAllowed(context: ChannelHandlerContext) {
        if readHeld && mayRead(context: context) {
            readHeld = false
            context.read()
        }
    }
}

/// A long line handed to the decoder, and the connection its request goes back to. A connection
/// that closes while the line waits empties it: a client that sends long lines and hangs up, one
/// connection after another, leaves neither its lines held (beyond the connection limit) nor
/// their decodes ahead of the live connections' lines.
private final class PendingLine: Sendable {
    typealias Connection = NIOLoopBound<(ClientConnectionHandler, ChannelHandlerContext)>
    private let state: Mutex<(line: [UInt8], connection: Connection)?>

    init(_ line: [UInt8], connection: Connection) {
        state = Mutex((line, connection))
    }

    /// The line and its connection, once; `nil` after `cancel`.
    func take() -> (line: [UInt8], connection: Connection)? {
        state.withLock { state in
            defer { state = nil }
            return state
        }
    }

    /// Lets go of the line and the connection; whether they were still waiting (then the decode
    /// will not call back).
    func cancel() -> Bool { take() != nil }
}
