import CLinuxEvents
import CNGHTTP2
import GRPCProtocol
import Glibc
import RPCCore

/// The client side of one HTTP/2 connection: connects lazily, then multiplexes calls as streams of an nghttp2
/// client session. Lives on one loop thread; the transport reaches it through `LoopBound`.
final class ClientConnection: ConnectionEngine, HTTP2SessionDelegate, FileDescriptorHandler {
    private enum Phase {
        case idle
        case connecting(fd: Int32, timer: TimerID)
        case connected(SocketConnection)
        case closed(RPCError)
    }

    let loop: EventLoop
    private let configuration: ClientConfiguration
    private var phase = Phase.idle
    private var session: NGHTTP2Session!
    private let registry: ClientCallRegistry
    private var pending: [ClientStream] = []
    private var calls: [Int32: ClientStream] = [:]
    private var streams: [Int32: ClientStream] = [:]
    private var goingAway = false
    /// Set when the server's SETTINGS arrived: the connection counts as made for the backoff.
    private var isReady = false
    /// Set once the TLS handshake finished (at once in plaintext): calls submit their requests from then on, so
    /// a call that fails before it (a certificate the client does not trust) never sent a byte of its request.
    private var isPipeEstablished = false
    private let reconnection: ClientReconnection
    /// This connection's keepalive, fixed when it was made (`reconnection` may double the next one's time).
    private let keepalive: ClientKeepalive?
    private var lastReceivedAt: UInt64 = 0
    private var keepalivePinger: KeepalivePinger?
    private var keepaliveTimer: TimerID?
    /// Keepalive PINGs the server acknowledged (for tests and diagnostics).
    private(set) var keepaliveAcks = 0
    /// The keepalive time this connection pings after.
    var keepaliveTime: Duration? { keepalive?.time }
    /// Who waits for the connection to be ready (`whenReady`), by id, with the timer that gives up on it.
    private var readinessWaiters: [Int: (timer: TimerID, callback: (RPCError?) -> Void)] = [:]
    private var nextReadinessWaiterID = 0

    private let tlsContext: TLSContext?

    init(
        configuration: ClientConfiguration, loop: EventLoop, registry: ClientCallRegistry,
        reconnection: ClientReconnection, tlsContext: TLSContext?
    ) {
        self.loop = loop
        self.reconnection = reconnection
        self.keepalive = reconnection.keepalive
        self.keepalivePinger = keepalive.map {
            KeepalivePinger(time: $0.time, timeout: $0.timeout, permitWithoutCalls: $0.permitWithoutCalls)
        }
        self.tlsContext = tlsContext
        self.registry = registry
        self.configuration = configuration
        var options: OpaquePointer?
        nghttp2_option_new(&options)
        nghttp2_option_set_no_auto_window_update(options, 1)
        self.session = NGHTTP2Session(server: false, delegate: self, options: options)
        nghttp2_option_del(options)
    }

    /// Whether new calls may still be started here.
    var isUsable: Bool {
        if case .closed = phase { return false }
        return !goingAway
    }

    /// Whether the connection has closed (or never connected).
    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    // MARK: Readiness

    /// Calls `callback` once the server has answered the connection preface with its SETTINGS (nil: a call started
    /// now goes out at once), or with the error when connecting fails, the connection closes or goes away first, or
    /// `timeout` passes. Connects when idle. Returns the wait's id for `abandonReadinessWait`; nil when `callback` was
    /// called already.
    @discardableResult
    func whenReady(within timeout: Duration, _ callback: @escaping (RPCError?) -> Void) -> Int? {
        loop.assertInLoop()
        switch phase {
        case .closed(let error):
            callback(reconnection.backoffError() ?? error)
            return nil
        case .connected where isReady:
            callback(goingAway ? goingAwayError : nil)
            return nil
        case .idle, .connecting, .connected:
            break
        }
        let id = nextReadinessWaiterID
        nextReadinessWaiterID += 1
        let target = "\(configuration.host):\(configuration.port)"
        let timer = loop.scheduleTimer(after: timeout) { [weak self] in
            self?.resolveReadinessWait(
                id, with: RPCError(.unavailable, "connection to \(target) failed: not ready within \(timeout)"))
        }
        readinessWaiters[id] = (timer, callback)
        if case .idle = phase { connect() }
        return readinessWaiters[id] == nil ? nil : id
    }

    /// Gives up the readiness wait `id` (its caller went away): its callback gets `error` now.
    func abandonReadinessWait(_ id: Int, error: RPCError) {
        resolveReadinessWait(id, with: error)
    }

    private func resolveReadinessWait(_ id: Int, with error: RPCError?) {
        guard let waiter = readinessWaiters.removeValue(forKey: id) else { return }
        loop.cancelTimer(waiter.timer)
        waiter.callback(error)
    }

    /// Tells every readiness waiter the outcome: nil (ready) or why the connection is of no use.
    private func resolveReadinessWaits(with error: RPCError?) {
        for id in readinessWaiters.keys.sorted() { resolveReadinessWait(id, with: error) }
    }

    private var goingAwayError: RPCError {
        RPCError(.unavailable, "connection to \(configuration.host):\(configuration.port) is going away (GOAWAY)")
    }

    // MARK: Calls

    /// Starts `stream` now if connected, else after connecting (connecting first if idle).
    func start(_ stream: ClientStream, timeout: Duration?) {
        loop.assertInLoop()
        calls[stream.callID] = stream
        registry.calls[stream.callID] = stream
        stream.owner = self
        if let timeout {
            stream.deadlineTimer = loop.scheduleTimer(after: timeout) { [weak self, weak stream] in
                guard let self, let stream else { return }
                stream.deadlineTimer = nil
                self.perform(stream.lifecycle.deadlineFired(after: timeout), on: stream)
            }
            stream.lifecycle.deadlineTimerArmed()
        }
        switch phase {
        case .idle:
            pending.append(stream)
            connect()
        case .connecting:
            pending.append(stream)
        case .connected(let socket):
            guard isPipeEstablished else {
                pending.append(stream)
                return
            }
            perform(stream.lifecycle.connectionReady(), on: stream)
            socket.flush()
        case .closed(let error):
            perform(stream.lifecycle.connectionFailed(reconnection.backoffError() ?? error), on: stream)
        }
    }

    /// Cancels a call (the caller went away or its requests failed): RST_STREAM CANCEL and `status`.
    func cancel(callID: Int32, status: RPCError) {
        guard let stream = calls[callID] else { return }
        perform(stream.lifecycle.cancelled(status), on: stream)
        flush()
    }

    private func submit(_ stream: ClientStream) {
        let id = session.submitRequest(headers: stream.headers)
        guard id > 0 else {
            perform(stream.lifecycle.requestSubmissionFailed(code: Int(id)), on: stream)
            return
        }
        stream.streamID = id
        streams[id] = stream
        stream.lifecycle.requestSubmitted()
    }

    /// Carries out what a call's state machine answered.
    private func perform(_ action: ClientStreamStateMachine.Action, on stream: ClientStream) {
        switch action {
        case .none:
            return
        case .submitRequest:
            submit(stream)
        case .resumeRequestData:
            if let id = stream.streamID { session.resumeData(streamID: id) }
        case .acceptResponseHead(let head):
            stream.responseMetadata.recordInitial(head.metadata)
            stream.deframer = GRPCMessageDeframer(
                maxMessageSize: configuration.maxReceiveMessageSize, encoding: head.encoding)
        case .finish(let ending):
            finish(stream, ending)
        }
    }

    /// Ends a call as its state machine decided (it answers `.finish` once): lets go of its timer, pump and
    /// queues, and resets its stream when asked.
    private func finish(_ stream: ClientStream, _ ending: ClientStreamStateMachine.Ending) {
        if ending.cancelDeadlineTimer, let timer = stream.deadlineTimer { loop.cancelTimer(timer) }
        stream.deadlineTimer = nil
        calls[stream.callID] = nil
        registry.calls[stream.callID] = nil
        stream.requestPump?.cancel()
        stream.requestPump = nil
        pending.removeAll { $0 === stream }
        if ending.resetStream, let id = stream.streamID, case .connected = phase {
            session.resetStream(id, errorCode: NGHTTP2_CANCEL)
        }
        // Before the messages end, so a reader that saw the end also sees the trailers.
        stream.responseMetadata.recordTrailing(ending.trailingMetadata)
        if let status = ending.status {
            stream.inbound.finish(throwing: status)
        } else {
            stream.inbound.finish()
        }
        stream.outbound.close(ending.status ?? RPCError(.cancelled, "the call has ended"))
    }

    private func flush() {
        if case .connected(let socket) = phase { socket.flush() }
    }

    /// Writes what the session has to send.
    func flushOutput() { flush() }

    // MARK: Connecting

    private func connect() {
        let target = "\(configuration.host):\(configuration.port)"
        do {
            let address = try SocketAddress.resolve(host: configuration.host, port: configuration.port)
            let fd = try SocketCalls.startConnect(to: address)
            let connectTimeout = reconnection.attemptStarting()
            let timer = loop.scheduleTimer(after: connectTimeout) { [weak self] in
                self?.connectFailed(RPCError(.unavailable, "connection to \(target) failed: timed out"))
            }
            phase = .connecting(fd: fd, timer: timer)
            loop.register(fd, events: EPOLLOUT.rawValue, handler: self)
        } catch {
            _ = reconnection.attemptStarting()
            connectFailed(RPCError(.unavailable, "connection to \(target) failed: \(error.reason)"))
        }
    }

    func handleEvents(_ events: UInt32) {
        guard case .connecting(let fd, let timer) = phase else { return }
        loop.cancelTimer(timer)
        loop.unregister(fd)
        let error = SocketCalls.pendingError(of: fd)
        // On failure connectFailed closes the socket, once: closing it here too would close whatever took the
        // number in between (another connection, or another loop's epoll descriptor).
        guard error == 0 else {
            let reason = SocketError(operation: "connect", code: error).reason
            connectFailed(
                RPCError(.unavailable, "connection to \(configuration.host):\(configuration.port) failed: \(reason)"))
            return
        }
        SocketCalls.setNoDelay(fd)
        var pipe: (any BytePipe)?
        if let tlsContext {
            do {
                pipe = TLSBytePipe(session: try TLSSession(context: tlsContext, serverName: configuration.host))
            } catch {
                connectFailed(
                    RPCError(.unavailable, "connection to \(configuration.host):\(configuration.port) failed: \(error)"))
                return
            }
        }
        let socket = SocketConnection(fd: fd, loop: loop, pipe: pipe, outboundLimit: 1 << 20)
        phase = .connected(socket)
        lastReceivedAt = MonotonicTime.now
        socket.start(engine: self)
        if let keepalive { armKeepaliveTimer(after: keepalive.time) }
        socket.flush()
    }

    /// Ends a connection attempt; unless the transport itself is closing, the next one waits out the backoff.
    private func connectFailed(_ error: RPCError, isFailure: Bool = true) {
        if case .connecting(let fd, _) = phase {
            loop.unregister(fd)
            close(fd)
        }
        if isFailure { reconnection.attemptFailed(error) }
        phase = .closed(error)
        let waiting = pending
        pending = []
        for stream in waiting { perform(stream.lifecycle.connectionFailed(error), on: stream) }
        resolveReadinessWaits(with: error)
    }

    /// Sends GOAWAY and closes the socket, failing open calls with UNAVAILABLE.
    func shutdown() {
        switch phase {
        case .connected(let socket):
            session.submitGoAway(errorCode: NGHTTP2_NO_ERROR, lastStreamID: 0)
            socket.flush()
            socket.close(reason: "the client transport was closed")
        case .connecting:
            connectFailed(RPCError(.unavailable, "the client transport was closed"), isFailure: false)
        case .idle, .closed:
            phase = .closed(RPCError(.unavailable, "the client transport was closed"))
            resolveReadinessWaits(with: RPCError(.unavailable, "the client transport was closed"))
        }
    }

    // MARK: ConnectionEngine

    func pipeEstablished() {
        session.submitSettings([
            (NGHTTP2_SETTINGS_ENABLE_PUSH, 0),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, UInt32(configuration.initialStreamWindowSize)),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16 * 1024),
        ])
        session.setConnectionWindow(Int32(clamping: configuration.connectionWindowSize))
        isPipeEstablished = true
        let waiting = pending
        pending = []
        for stream in waiting { perform(stream.lifecycle.connectionReady(), on: stream) }
    }

    func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastReceivedAt = MonotonicTime.now
        return session.receive(bytes)
    }

    func produce(into output: inout [UInt8], limit: Int) -> Bool { session.send(into: &output, limit: limit) }

    var isFinished: Bool { !session.isActive || (goingAway && streams.isEmpty) }

    func connectionClosed(reason: String) {
        let error = RPCError(.unavailable, "connection to \(configuration.host):\(configuration.port) closed: \(reason)")
        phase = .closed(error)
        if let timer = keepaliveTimer { loop.cancelTimer(timer) }
        keepaliveTimer = nil
        // Closed before the server's SETTINGS (a TLS or preface failure): an attempt that failed.
        if !isReady { reconnection.attemptFailed(error) }
        let open = Array(calls.values)
        pending = []
        for stream in open { perform(stream.lifecycle.connectionFailed(error), on: stream) }
        streams = [:]
        resolveReadinessWaits(with: error)
    }

    // MARK: HTTP2SessionDelegate

    func sessionBeginHeaders(streamID: Int32, category: nghttp2_headers_category) -> Int32 {
        if let stream = streams[streamID] {
            stream.receivingHeaders = []
            stream.lifecycle.responseHeadersBegan()
        }
        return 0
    }

    func sessionHeader(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID] else { return 0 }
        switch stream.lifecycle.responseHeaderFieldReceived(size: name.count + value.count + 32) {
        case .keep:
            stream.receivingHeaders.append(
                HeaderField(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            return 0
        case .refuse(let action):
            perform(action, on: stream)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        case .discard:
            return 0
        }
    }

    func sessionFrameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        let endStream = UInt32(header.flags) & NGHTTP2_FLAG_END_STREAM.rawValue != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            guard let stream = streams[header.stream_id], !stream.lifecycle.isFinished else { return 0 }
            let block = stream.receivingHeaders
            stream.receivingHeaders = []
            let partialMessage = stream.deframer?.hasPartialMessage ?? false
            perform(
                stream.lifecycle.responseHeadersEnded(block, endStream: endStream, partialMessage: partialMessage),
                on: stream)
        case NGHTTP2_DATA.rawValue:
            if endStream, let stream = streams[header.stream_id] {
                let partialMessage = stream.deframer?.hasPartialMessage ?? false
                perform(stream.lifecycle.responseEnded(trailers: [], partialMessage: partialMessage), on: stream)
            }
        case NGHTTP2_GOAWAY.rawValue:
            goingAway = true
            if Self.isTooManyPings(frame.pointee.goaway) { reconnection.serverWantsFewerPings() }
            resolveReadinessWaits(with: goingAwayError)
        case NGHTTP2_SETTINGS.rawValue:
            if !isReady && UInt32(header.flags) & NGHTTP2_FLAG_ACK.rawValue == 0 {
                isReady = true
                reconnection.attemptSucceeded()
                resolveReadinessWaits(with: goingAway ? goingAwayError : nil)
            }
        case NGHTTP2_PING.rawValue:
            if NGHTTP2Session.isKeepaliveAck(frame), keepalivePinger?.acknowledged() == true, let keepalive {
                keepaliveAcks += 1
                // The timer waits for the timeout; the next ping is due `time` after this ACK.
                if let timer = keepaliveTimer { loop.cancelTimer(timer) }
                armKeepaliveTimer(after: keepalive.time)
            }
        default:
            break
        }
        return 0
    }

    /// Whether `goaway` is ENHANCE_YOUR_CALM with debug data "too_many_pings" (gRPC's answer to pinging too often).
    private static func isTooManyPings(_ goaway: nghttp2_goaway) -> Bool {
        guard goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM.rawValue, let data = goaway.opaque_data else { return false }
        return UnsafeBufferPointer(start: data, count: goaway.opaque_data_len).elementsEqual("too_many_pings".utf8)
    }

    // MARK: Keepalive

    private func armKeepaliveTimer(after delay: Duration) {
        keepaliveTimer = loop.scheduleTimer(after: delay) { [weak self] in
            guard let self else { return }
            self.keepaliveTimer = nil
            self.checkKeepalive()
        }
    }

    /// Keepalive (gRPC doc/keepalive.md): after `time` with no frame received, PING; no ACK within `timeout`
    /// means the server or the path is gone, so close and fail the calls with UNAVAILABLE.
    private func checkKeepalive() {
        guard case .connected(let socket) = phase, var pinger = keepalivePinger else { return }
        let step = pinger.next(now: MonotonicTime.now, lastReceivedAt: lastReceivedAt, callsOpen: !streams.isEmpty)
        keepalivePinger = pinger
        switch step {
        case .wait(let delay):
            armKeepaliveTimer(after: delay)
        case .sendPing:
            session.submitKeepalivePing()
            socket.flush()
            armKeepaliveTimer(after: pinger.timeout)
        case .peerGone:
            socket.close(reason: "keepalive ping not acknowledged within \(pinger.timeout)")
        }
    }

    func sessionDataChunk(streamID: Int32, data: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID], stream.lifecycle.responseDataReadable, var deframer = stream.deframer
        else {
            session.consume(streamID: streamID, count: data.count)
            return 0
        }
        stream.unconsumedBytes += data.count
        deframer.append(data)
        do {
            while let message = try deframer.nextMessage() { stream.inbound.append(message) }
            stream.deframer = deframer
        } catch {
            perform(stream.lifecycle.responseDeframingFailed(error), on: stream)
            session.consume(streamID: streamID, count: stream.unconsumedBytes)
            stream.unconsumedBytes = 0
            return 0
        }
        returnWindowIfRoom(stream)
        return 0
    }

    private func returnWindowIfRoom(_ stream: ClientStream) {
        guard stream.unconsumedBytes > 0, let id = stream.streamID else { return }
        if !stream.lifecycle.isFinished && stream.inbound.requestDrainNotice() { return }
        session.consume(streamID: id, count: stream.unconsumedBytes)
        stream.unconsumedBytes = 0
    }

    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = streams.removeValue(forKey: streamID) else { return 0 }
        session.consumeConnection(count: stream.unconsumedBytes)
        stream.unconsumedBytes = 0
        perform(stream.lifecycle.streamClosed(errorCode: errorCode), on: stream)
        return 0
    }

    func sessionReadData(
        streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let stream = streams[streamID], stream.lifecycle.requestBodyReadable else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let result = stream.outbound.read(into: buffer)
        if result.ending != nil {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return result.count
        }
        if result.mustWait {
            stream.lifecycle.requestProviderParked()
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return result.count
    }

    func sessionFrameSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 { 0 }

    /// A writer queued request bytes or a reader took responses: resume the provider, return window.
    func serveWakeup(_ stream: ClientStream) {
        guard stream.lifecycle.phase == .open else { return }
        perform(stream.lifecycle.requestOutputReady { stream.outbound.hasPendingOutput }, on: stream)
        returnWindowIfRoom(stream)
    }
}
