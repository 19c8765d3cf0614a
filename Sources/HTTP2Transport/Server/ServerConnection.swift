import GRPCProtocol
import CNGHTTP2
import RPCCore
import Synchronization

/// What every connection of one server shares: routing, configuration, counters.
final class ServerShared: Sendable {
    let router: ServiceRouter
    let configuration: ServerConfiguration
    /// Inbound queue size under which flow-control window is returned at once.
    let inboundLowWater: Int
    /// The TLS context every connection's session is made from; nil for plaintext.
    let tlsContext: TLSContext?
    /// Connections open now, across all loops.
    let openConnections = Atomic<Int>(0)
    /// Which other origins' pages may read gRPC-Web responses.
    let cors: GRPCWebCORS
    /// Answers requests that are not gRPC (static files, CORS preflights); nil when neither is configured.
    let plainHTTP: PlainHTTPResponder?

    init(router: ServiceRouter, configuration: ServerConfiguration, tlsContext: TLSContext?) {
        self.router = router
        self.tlsContext = tlsContext
        self.configuration = configuration
        self.inboundLowWater = max(1, configuration.limits.inboundBytesPerStream)
        self.cors = GRPCWebCORS(allowedOrigins: configuration.webAllowedOrigins)
        let responder = PlainHTTPResponder(files: configuration.staticFiles, cors: cors)
        self.plainHTTP = responder.isEnabled ? responder : nil
    }
}

/// The server side of one HTTP/2 connection: an nghttp2 server session whose streams are gRPC calls, each
/// served by a handler task. Lives on one loop thread.
final class ServerConnection: ConnectionEngine, HTTP2SessionDelegate {
    private let shared: ServerShared
    private let socket: SocketConnection
    private let peer: String
    private var session: NGHTTP2Session!
    private var wakeups: StreamWakeups!
    private var streams: [Int32: ServerStream] = [:]
    private var limits: ServerLimits { shared.configuration.limits }
    private var prefaceTimer: TimerID?
    private var idleTimer: TimerID?
    private var resets: WindowCounter
    private var controlFrames: WindowCounter
    private var closeRequested = false
    private var headerStrings = HeaderStrings()
    /// The stream whose header block (HEADERS and its CONTINUATIONs) is arriving, while one is, and since when.
    private var headerBlockStream: Int32?
    private var headerBlockStarted: UInt64 = 0
    private var headersTimer: TimerID?
    /// Keepalive: when bytes last arrived, when our unacknowledged PING left (nil: none outstanding), and the
    /// timer that checks both.
    private var lastReceivedAt: UInt64 = 0
    private var keepalivePinger: KeepalivePinger
    private var keepaliveTimer: TimerID?
    private var clientPings: ClientPingPolicy
    /// Breaches already reported to the event log (one line each per connection).
    private var loggedBreaches: Set<String> = []
    /// The socket is closed: no timer may be armed any more (it would keep this connection alive).
    private var socketClosed = false
    private(set) var isDraining = false
    /// A breach got GOAWAY ENHANCE_YOUR_CALM: nothing more the peer sent is parsed. A rapid reset's HEADERS
    /// queued behind the one that crossed the limit would otherwise each still open a call and cancel it,
    /// holding the loop (and every other connection on it) for hundreds of milliseconds.
    private var calmedDown = false

    /// Prepares the engine for `socket`; `SocketConnection.start(engine:)` starts it.
    init(socket: SocketConnection, shared: ServerShared, peer: String) {
        self.shared = shared
        self.socket = socket
        self.peer = peer
        let limits = shared.configuration.limits
        self.resets = WindowCounter(limit: limits.maxResetsPerWindow, window: limits.floodWindow)
        self.controlFrames = WindowCounter(limit: limits.maxControlFramesPerWindow, window: limits.floodWindow)
        let keepalive = shared.configuration.keepalive
        self.clientPings = ClientPingPolicy(keepalive)
        self.keepalivePinger = KeepalivePinger(
            time: keepalive.time, timeout: keepalive.timeout, permitWithoutCalls: keepalive.permitWithoutCalls)
        var options: OpaquePointer?
        nghttp2_option_new(&options)
        // Window updates follow the handler's reads, not nghttp2's receipt of bytes (backpressure).
        nghttp2_option_set_no_auto_window_update(options, 1)
        nghttp2_option_set_max_settings(options, 32)
        nghttp2_option_set_max_outbound_ack(options, 1000)
        nghttp2_option_set_max_continuations(options, 8)
        nghttp2_option_set_stream_reset_rate_limit(
            options, UInt64(limits.maxResetsPerWindow),
            UInt64(max(1, Double(limits.maxResetsPerWindow) / Double(max(1, limits.floodWindow.components.seconds)))))
        self.session = NGHTTP2Session(server: true, delegate: self, options: options)
        nghttp2_option_del(options)
        // Strong references from the wake-up target and the timers, released in `connectionClosed`: a weak
        // reference would give this object a side table, and every retain of it (one per nghttp2 callback) would
        // take the runtime's slow path.
        self.wakeups = StreamWakeups(loop: socket.loop) { [self] ids in serveWakeups(ids) }
        let eventLog = shared.configuration.eventLog
        prefaceTimer = socket.loop.scheduleTimer(after: limits.prefaceTimeout) { [peer] in
            eventLog.record(peer: peer, "closed: no HTTP/2 preface within \(limits.prefaceTimeout)")
            socket.close(reason: "no HTTP/2 preface within \(limits.prefaceTimeout)")
        }
    }

    // MARK: ConnectionEngine

    func pipeEstablished() {
        session.submitSettings([
            (NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, UInt32(limits.maxConcurrentStreams)),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, UInt32(limits.initialStreamWindowSize)),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, UInt32(limits.maxHeaderListSize)),
        ])
        session.setConnectionWindow(Int32(clamping: limits.connectionWindowSize))
    }

    func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if calmedDown { return false }
        lastReceivedAt = MonotonicTime.now
        if session.receive(bytes) { return true }
        // A callback stopped parsing after calming the connection down; its GOAWAY is already queued.
        if !calmedDown { answerFatalError() }
        return false
    }

    /// nghttp2 stopped parsing (a flood it caught first, too many CONTINUATIONs, a bad preface) and queues no
    /// GOAWAY for these itself: queue one saying why, sent before the socket closes.
    private func answerFatalError() {
        let error = session.receiveError
        let code =
            error == NGHTTP2_ERR_FLOODED.rawValue || error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue
            ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR
        let reason = String(cString: nghttp2_strerror(error))
        logBreach("GOAWAY", "GOAWAY \(NGHTTP2Session.errorCodeName(code.rawValue)): \(reason)")
        session.submitGoAway(errorCode: code, debug: reason)
    }

    func produce(into output: inout [UInt8], limit: Int) -> Bool {
        session.send(into: &output, limit: limit)
    }

    var isFinished: Bool { (closeRequested && streams.isEmpty) || !session.isActive }

    func connectionClosed(reason: String) {
        socketClosed = true
        cancelTimers()
        wakeups.stop()
        let open = streams
        streams = [:]
        for stream in open.values {
            let failure = RPCError(.unavailable, "connection closed: \(reason)")
            perform(stream.lifecycle.streamClosed(), on: stream, failure: failure)
        }
    }

    // MARK: Shutdown

    /// Sends GOAWAY and lets open calls finish; the connection closes when the last one ends.
    func beginDraining() {
        guard !isDraining else { return }
        isDraining = true
        session.submitGoAway(errorCode: NGHTTP2_NO_ERROR)
        closeRequested = true
        socket.flush()
    }

    /// Cancels every open call and closes the socket now.
    func closeNow(reason: String) {
        socket.close(reason: reason)
    }

    private func cancelTimers() {
        if let prefaceTimer { socket.loop.cancelTimer(prefaceTimer) }
        if let idleTimer { socket.loop.cancelTimer(idleTimer) }
        if let headersTimer { socket.loop.cancelTimer(headersTimer) }
        if let keepaliveTimer { socket.loop.cancelTimer(keepaliveTimer) }
        keepaliveTimer = nil
        prefaceTimer = nil
        idleTimer = nil
        headersTimer = nil
    }

    /// Reports a breach to the event log unless this connection already reported one of this `kind`.
    private func logBreach(_ kind: String, _ event: String) {
        guard loggedBreaches.insert(kind).inserted else { return }
        shared.configuration.eventLog.record(peer: peer, event)
    }

    private func armHeadersTimer(after delay: Duration) {
        guard !socketClosed else { return }
        headersTimer = socket.loop.scheduleTimer(after: delay) { [self] in
            headersTimer = nil
            checkHeaderBlock()
        }
    }

    /// Slowloris: a header block still incomplete `requestHeadersTimeout` after it began ends the connection
    /// (nothing else can arrive on it meanwhile: CONTINUATIONs must follow their HEADERS, RFC 9113 §6.10). One
    /// timer per connection, re-armed for the block in progress, so a busy connection schedules no timer per call.
    private func checkHeaderBlock() {
        guard let stream = headerBlockStream else { return }
        let timeout = limits.requestHeadersTimeout.nanoseconds
        let elapsed = MonotonicTime.now &- headerBlockStarted
        if elapsed < timeout {
            armHeadersTimer(after: .nanoseconds(Int64(timeout - elapsed)))
            return
        }
        let reason = "request headers incomplete after \(limits.requestHeadersTimeout)"
        logBreach("GOAWAY", "GOAWAY ENHANCE_YOUR_CALM: \(reason) (stream \(stream))")
        session.submitGoAway(errorCode: NGHTTP2_ENHANCE_YOUR_CALM, debug: reason)
        socket.flush()
        socket.close(reason: reason)
    }

    private func armIdleTimer() {
        guard idleTimer == nil, streams.isEmpty, !socketClosed else { return }
        idleTimer = socket.loop.scheduleTimer(after: limits.idleTimeout) { [self] in
            idleTimer = nil
            if streams.isEmpty { beginDraining() }
        }
    }

    private func armKeepaliveTimer(after delay: Duration) {
        guard !socketClosed else { return }
        keepaliveTimer = socket.loop.scheduleTimer(after: delay) { [self] in
            keepaliveTimer = nil
            checkKeepalive()
        }
    }

    /// Keepalive (gRPC doc/keepalive.md): after `time` with nothing received the server PINGs; a PING still
    /// unacknowledged `timeout` later means the peer or the path is gone, so GOAWAY and close. One timer per
    /// connection, re-armed for what is left of the current wait.
    private func checkKeepalive() {
        let step = keepalivePinger.next(
            now: MonotonicTime.now, lastReceivedAt: lastReceivedAt, callsOpen: !streams.isEmpty)
        switch step {
        case .wait(let delay):
            armKeepaliveTimer(after: delay)
        case .sendPing:
            session.submitKeepalivePing()
            socket.flush()
            armKeepaliveTimer(after: keepalivePinger.timeout)
        case .peerGone:
            let reason = "keepalive ping not acknowledged within \(keepalivePinger.timeout)"
            logBreach("keepalive", "GOAWAY NO_ERROR, closed: \(reason)")
            session.submitGoAway(errorCode: NGHTTP2_NO_ERROR, debug: reason)
            socket.flush()
            socket.close(reason: reason)
        }
    }

    /// A PING arrived: the ACK of ours settles the keepalive; the client's own are judged against the policy.
    private func notePing(_ frame: UnsafePointer<nghttp2_frame>) {
        if UInt32(frame.pointee.hd.flags) & NGHTTP2_FLAG_ACK.rawValue != 0 {
            if NGHTTP2Session.isKeepaliveAck(frame) { _ = keepalivePinger.acknowledged() }
            return
        }
        let callsOpen = !streams.isEmpty
        if clientPings.pingReceived(at: lastReceivedAt, callsOpen: callsOpen) {
            let keepalive = shared.configuration.keepalive
            let interval =
                callsOpen || keepalive.permitClientPingsWithoutCalls
                ? "\(keepalive.minimumClientPingInterval)" : "2 hours (no calls open)"
            calmDown(
                "too_many_pings", detail: "more than \(keepalive.maxPingStrikes) PINGs sooner than \(interval) apart")
        }
    }

    private func calmDown(_ reason: String, detail: String? = nil) {
        guard !closeRequested || !isDraining else { return }
        logBreach("GOAWAY", "GOAWAY ENHANCE_YOUR_CALM: \(reason)" + (detail.map { " (\($0))" } ?? ""))
        session.submitGoAway(errorCode: NGHTTP2_ENHANCE_YOUR_CALM, debug: reason)
        isDraining = true
        closeRequested = true
        calmedDown = true
        let open = streams
        for stream in open.values {
            perform(stream.lifecycle.connectionCalmedDown(), on: stream, failure: RPCError(.unavailable, reason))
        }
        streams = [:]
    }

    // MARK: HTTP2SessionDelegate

    func sessionBeginHeaders(streamID: Int32, category: nghttp2_headers_category) -> Int32 {
        if calmedDown { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
        headerBlockStream = streamID
        headerBlockStarted = MonotonicTime.now
        if headersTimer == nil { armHeadersTimer(after: limits.requestHeadersTimeout) }
        guard category == NGHTTP2_HCAT_REQUEST else { return 0 }
        if let idleTimer {
            socket.loop.cancelTimer(idleTimer)
            self.idleTimer = nil
        }
        let stream = ServerStream(id: streamID)
        stream.headers.reserveCapacity(8)
        streams[streamID] = stream
        return 0
    }

    func sessionHeader(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID] else { return 0 }
        // RFC 9113 §6.5.2: the size of a field is its name and value lengths plus 32.
        let size = name.count + value.count + 32
        guard stream.lifecycle.headerFieldReceived(size: size, limit: limits.maxHeaderListSize) else {
            // Decoding goes on (the HPACK table must stay in step with the peer's) but the fields are dropped,
            // so memory stays at the limit; the stream is refused when the block ends.
            if !stream.headers.isEmpty { stream.headers = [] }
            return 0
        }
        stream.headers.append(HeaderField(headerStrings.string(name), headerStrings.string(value)))
        return 0
    }

    func sessionFrameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        if calmedDown { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
        // A whole frame arrived, so no header block is in progress (a HEADERS frame arrives after its
        // CONTINUATIONs; nothing else may come between them).
        headerBlockStream = nil
        if let prefaceTimer {
            socket.loop.cancelTimer(prefaceTimer)
            self.prefaceTimer = nil
            armIdleTimer()
            armKeepaliveTimer(after: shared.configuration.keepalive.time)
        }
        let header = frame.pointee.hd
        let endStream = UInt32(header.flags) & NGHTTP2_FLAG_END_STREAM.rawValue != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            guard let stream = streams[header.stream_id] else { return 0 }
            let action = stream.lifecycle.headersEnded(isRequest: frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST)
            perform(action, on: stream)
            if case .resetStream = action { return 0 }
            if endStream { endRequest(stream) }
        case NGHTTP2_DATA.rawValue:
            if header.length == 0 && !endStream && controlFrames.record() {
                calmDown("too many empty DATA frames")
                return 0
            }
            if endStream, let stream = streams[header.stream_id] { endRequest(stream) }
        case NGHTTP2_RST_STREAM.rawValue:
            if resets.record() { calmDown("too many stream resets") }
        case NGHTTP2_PING.rawValue:
            if controlFrames.record() {
                calmDown("too many control frames")
                return 0
            }
            notePing(frame)
        case NGHTTP2_SETTINGS.rawValue:
            if controlFrames.record() { calmDown("too many control frames") }
        default:
            break
        }
        return 0
    }

    func sessionDataChunk(streamID: Int32, data: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID], stream.lifecycle.requestDataReceived(), var deframer = stream.deframer,
            let inbound = stream.inbound
        else {
            // Not a running call (rejected or unknown): the bytes are not wanted; return their window at once.
            session.consume(streamID: streamID, count: data.count)
            return 0
        }
        stream.unconsumedBytes += data.count
        if let alternate = stream.alternate, alternate.textDecoder != nil {
            var decoded: [UInt8] = []
            do {
                try alternate.textDecoder!.decode(data, into: &decoded)
            } catch {
                stream.deframer = nil
                perform(stream.lifecycle.requestDeframingFailed(), on: stream, failure: error)
                return 0
            }
            deframer.append(decoded)
        } else {
            deframer.append(data)
        }
        do {
            while let (message, compressed) = try deframer.nextMessageAndFlag() {
                inbound.append(message, compressed: compressed)
            }
            stream.deframer = deframer
        } catch {
            stream.deframer = nil
            perform(stream.lifecycle.requestDeframingFailed(), on: stream, failure: error)
            return 0
        }
        returnWindowIfRoom(stream)
        return 0
    }

    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = streams.removeValue(forKey: streamID) else { return 0 }
        let reason =
            errorCode == NGHTTP2_NO_ERROR.rawValue
            ? RPCError(.cancelled, "the call has ended") : RPCError(.cancelled, "the client cancelled the call")
        perform(stream.lifecycle.streamClosed(), on: stream, failure: reason)
        session.consumeConnection(count: stream.unconsumedBytes)
        armIdleTimer()
        return 0
    }

    func sessionReadData(
        streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let stream = streams[streamID] else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        if let alternate = stream.alternate { return readAlternate(stream, alternate, into: buffer, flags: flags) }
        guard let outbound = stream.outbound else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let result = outbound.read(into: buffer)
        if let ending = result.ending {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            perform(stream.lifecycle.responseBodyEnded(), on: stream, ending: ending)
            return result.count
        }
        if result.mustWait {
            stream.lifecycle.providerParked()
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return result.count
    }

    /// The body of a gRPC-Web call or a fixed response. gRPC-Web: the call's frames (in the text format each
    /// chunk read from the queue base64-encoded whole), then the trailer frame, then END_STREAM on the last DATA
    /// (PROTOCOL-WEB.md: no HTTP/2 trailers). Fixed: the bytes, then END_STREAM.
    private func readAlternate(
        _ stream: ServerStream, _ alternate: AlternateResponse, into buffer: UnsafeMutableRawBufferPointer,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        if alternate.hasPendingText { return alternate.readPendingText(into: buffer) }
        if alternate.tail != nil {
            let (count, done) = alternate.readTail(into: buffer)
            if done {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if alternate.webFormat != nil { perform(stream.lifecycle.responseBodyEnded(), on: stream) }
            }
            return count
        }
        guard let outbound = stream.outbound, let format = alternate.webFormat else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let result: OutboundMessages.ReadResult
        var count: Int
        switch format {
        case .binary:
            result = outbound.read(into: buffer)
            count = result.count
        case .text:
            result = withUnsafeTemporaryAllocation(byteCount: Self.textChunkBytes, alignment: 1) { chunk in
                let result = outbound.read(into: chunk)
                if result.count > 0 { alternate.queueText(UnsafeRawBufferPointer(rebasing: chunk[0..<result.count])) }
                return result
            }
            count = alternate.hasPendingText ? alternate.readPendingText(into: buffer) : 0
        }
        if let ending = result.ending {
            alternate.setTail(GRPCWebTrailers.frame(fields: trailers(for: ending, outbound: outbound)))
            if count == 0 { return readAlternate(stream, alternate, into: buffer, flags: flags) }
            return count
        }
        if result.mustWait {
            stream.lifecycle.providerParked()
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return count
    }

    /// How many response bytes of a gRPC-Web text call are encoded at a time (a multiple of 3, so only a
    /// chunk that ends a flush needs padding; 16 KiB of base64, one default-size DATA frame).
    private static let textChunkBytes = 12_288

    func sessionFrameSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        let type = UInt32(header.type)
        if type == NGHTTP2_GOAWAY.rawValue || type == NGHTTP2_RST_STREAM.rawValue {
            noteErrorSent(frame)
            return 0
        }
        guard type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue else { return 0 }
        clientPings.noteDataSent()
        guard UInt32(header.flags) & NGHTTP2_FLAG_END_STREAM.rawValue != 0 else { return 0 }
        // RFC 9113 §8.1: after a complete response the server may reset with NO_ERROR so the client stops
        // sending a request nobody reads.
        if session.isRemoteOpen(header.stream_id) {
            session.resetStream(header.stream_id, errorCode: NGHTTP2_NO_ERROR)
        }
        return 0
    }

    /// Logs a GOAWAY or RST_STREAM nghttp2 sent on its own for a protocol error (ours are logged where decided),
    /// and counts stream errors with the client's resets: a peer that makes the server reset streams (after
    /// their handlers started) is as costly as one that resets them itself (CVE-2025-8671, "MadeYouReset").
    private func noteErrorSent(_ frame: UnsafePointer<nghttp2_frame>) {
        if UInt32(frame.pointee.hd.type) == NGHTTP2_GOAWAY.rawValue {
            let goaway = frame.pointee.goaway
            guard goaway.error_code != NGHTTP2_NO_ERROR.rawValue else { return }
            let debug = goaway.opaque_data.map { bytes in
                String(decoding: UnsafeBufferPointer(start: bytes, count: goaway.opaque_data_len), as: UTF8.self)
            } ?? ""
            logBreach("GOAWAY", "GOAWAY \(NGHTTP2Session.errorCodeName(goaway.error_code)): \(debug)")
        } else {
            let code = frame.pointee.rst_stream.error_code
            // NO_ERROR and CANCEL end calls normally (CANCEL also when we calm a connection down).
            guard code != NGHTTP2_NO_ERROR.rawValue, code != NGHTTP2_CANCEL.rawValue else { return }
            // REFUSED_STREAM answers a client that raced our SETTINGS: counted, not logged.
            if code != NGHTTP2_REFUSED_STREAM.rawValue {
                let name = NGHTTP2Session.errorCodeName(code)
                logBreach("RST_STREAM \(name)", "RST_STREAM \(name) on stream \(frame.pointee.hd.stream_id)")
            }
            if resets.record() { calmDown("too many stream errors") }
        }
    }

    // MARK: Calls

    private func startCall(_ stream: ServerStream) {
        let head: RequestHead
        switch RequestHead.parse(stream.headers) {
        case .success(let parsed):
            head = parsed
        case .failure(.httpStatus(let status, let message)):
            if let plainHTTP = shared.plainHTTP, let response = plainHTTP.respond(to: stream.headers) {
                respond(stream, with: response)
            } else {
                reject(stream, headers: ResponseHeaders.httpError(status: status, message: message))
            }
            return
        case .failure(.grpcStatus(let error)):
            if let format = stream.headers.first(where: { $0.name == "content-type" }).flatMap({
                GRPCWebContentType.format(of: $0.value)
            }) {
                rejectWeb(stream, format: format, error: error)
            } else {
                reject(stream, headers: ResponseHeaders.trailersOnly(for: error))
            }
            return
        }
        // The one branch a call takes on its kind: gRPC-Web calls get an alternate response body.
        if let format = head.webFormat {
            stream.alternate = AlternateResponse(
                webFormat: format, origin: stream.headers.first(where: { $0.name == "origin" })?.value)
        }
        stream.headers = []
        let method: ServerMethod
        do {
            method = try shared.router.method(forPath: head.path)
        } catch {
            if let alternate = stream.alternate, let format = alternate.webFormat {
                stream.alternate = nil
                rejectWeb(stream, format: format, error: error, origin: alternate.origin)
            } else {
                let headers = ResponseHeaders.trailersOnly(status: error.code, message: error.message, metadata: [:])
                reject(stream, headers: headers)
            }
            return
        }
        stream.lifecycle.callStarted(deadlineArmed: head.timeout != nil)
        let id = stream.id
        let wakeups = self.wakeups!
        let responseEncoding: MessageEncoding = head.acceptEncodings.contains(.gzip) ? .gzip : .identity
        let inbound = InboundMessages(lowWater: shared.inboundLowWater) { wakeups.wake(id) }
        let outbound = OutboundMessages(
            highWater: limits.outboundBytesPerStream, encoding: responseEncoding,
            compress: shared.configuration.compressResponses) { wakeups.wake(id) }
        stream.inbound = inbound
        stream.outbound = outbound
        stream.deframer = GRPCMessageDeframer(maxMessageSize: limits.maxReceiveMessageSize, encoding: head.encoding)
        let context = ServerContext(
            method: method.descriptor, metadata: head.metadata, peer: peer,
            deadline: head.timeout.map { ContinuousClock.now.advanced(by: $0) })
        let call = ServerCallResponse(
            outbound: outbound, inbound: inbound, peerIdentity: socket.pipe?.peerIdentity, requestEncoding: head.encoding.rawValue)
        stream.task = Task(executorPreference: socket.loop) {
            let requests = RequestStream(InboundMessageSequence(messages: inbound, mapError: { $0 }, lifetime: nil))
            let writer = ResponseWriter<[UInt8]> { message in try await outbound.write(message) }
            do {
                try await ServerCallResponse.$current.withValue(call) {
                    try await method.handle(requests, writer, context)
                }
                outbound.finish(.finished)
            } catch {
                outbound.finish(.failed(RPCError(convertingHandlerError: error)))
            }
        }
        if let timeout = head.timeout {
            // Cancelled when the call finishes or is abandoned, so holding both strongly keeps nothing alive.
            stream.deadlineTimer = socket.loop.scheduleTimer(after: timeout) { [self, stream] in
                stream.deadlineTimer = nil
                self.perform(
                    stream.lifecycle.deadlineFired(), on: stream,
                    failure: RPCError(.deadlineExceeded, "deadline exceeded after \(timeout)"))
                self.socket.flush()
            }
        }
    }

    private func reject(_ stream: ServerStream, headers: [HeaderField]) {
        stream.headers = []
        guard stream.lifecycle.callRejected() else { return }
        session.submitResponse(streamID: stream.id, headers: headers, hasBody: false)
    }

    /// Refuses a gRPC-Web call before its handler runs: response headers, then a body holding only the
    /// trailer frame. Not Trailers-Only: a fetch-based client reads the status from the body's trailer frame,
    /// which every gRPC-Web client understands (PROTOCOL-WEB.md lets a server send either).
    private func rejectWeb(_ stream: ServerStream, format: GRPCWebFormat, error: RPCError, origin: String? = nil) {
        let origin = origin ?? stream.headers.first(where: { $0.name == "origin" })?.value
        stream.headers = []
        guard stream.lifecycle.callRejected() else { return }
        let alternate = AlternateResponse(webFormat: format, origin: origin)
        alternate.setTail(GRPCWebTrailers.frame(status: error.code, message: error.message, metadata: error.metadata))
        stream.alternate = alternate
        let headers =
            GRPCWebResponseHeaders.initial(format: format, encoding: .identity, metadata: [:])
            + shared.cors.responseHeaders(origin: origin)
        session.submitResponse(streamID: stream.id, headers: headers, hasBody: true)
    }

    /// Sends a complete non-gRPC response (static file, preflight, HTTP error with a text body).
    private func respond(_ stream: ServerStream, with response: PlainHTTPResponse) {
        stream.headers = []
        guard stream.lifecycle.callRejected() else { return }
        if response.body.isEmpty {
            session.submitResponse(streamID: stream.id, headers: response.headerBlock, hasBody: false)
        } else {
            stream.alternate = AlternateResponse(fixedBody: response.body)
            session.submitResponse(streamID: stream.id, headers: response.headerBlock, hasBody: true)
        }
    }

    /// The head of a gRPC-Web response: `initial` metadata, and CORS headers when the origin is allowed.
    private func webResponseHeaders(
        _ alternate: AlternateResponse, format: GRPCWebFormat, outbound: OutboundMessages, initial: Metadata
    ) -> [HeaderField] {
        var headers = GRPCWebResponseHeaders.initial(
            format: format, encoding: outbound.messageEncoding, metadata: initial)
        if shared.cors.isEnabled {
            let names = MetadataHeaders.headers(for: initial).map(\.name)
            headers += shared.cors.responseHeaders(origin: alternate.origin, metadataNames: names)
        }
        return headers
    }

    private func endRequest(_ stream: ServerStream) {
        let partialMessage =
            (stream.deframer?.hasPartialMessage ?? false) || (stream.alternate?.textDecoder?.hasPartialQuantum ?? false)
        perform(
            stream.lifecycle.requestEnded(partialMessage: partialMessage), on: stream,
            failure: partialMessage ? RPCError(.internalError, "the request ended inside a message") : nil)
    }

    /// Carries out what a stream's state machine answered. `failure` is the status a failing call ends with, or
    /// why a released call's handler reads and writes fail; `ending` is how the writer ended, for the trailers.
    private func perform(
        _ action: ServerStreamStateMachine.Action, on stream: ServerStream, failure: RPCError? = nil,
        ending: OutboundMessages.Ending = .finished
    ) {
        switch action {
        case .none:
            return
        case .startCall:
            startCall(stream)
        case .resetStream(let code, let release):
            let errorCode: nghttp2_error_code
            switch code {
            case .enhanceYourCalm:
                // Over `maxHeaderListSize`: gRPC clients report ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED
                // (PROTOCOL-HTTP2.md); the connection and its other calls carry on.
                let limit = limits.maxHeaderListSize
                logBreach(
                    "RST_STREAM ENHANCE_YOUR_CALM",
                    "RST_STREAM ENHANCE_YOUR_CALM on stream \(stream.id): header list over \(limit) bytes")
                errorCode = NGHTTP2_ENHANCE_YOUR_CALM
            case .cancel:
                errorCode = NGHTTP2_CANCEL
            }
            session.resetStream(stream.id, errorCode: errorCode)
            if !release.isEmpty { self.release(stream, release, because: failure ?? Self.callEnded) }
        case .finishInbound:
            stream.inbound?.finish()
        case .failCall:
            // The handler is cancelled and the status goes out in place of anything it had queued.
            let error = failure ?? RPCError(.internalError, "the call failed")
            stream.task?.cancel()
            stream.inbound?.abort(error)
            stream.outbound?.override(
                with: .failed(error), writerError: RPCError(.cancelled, "the call has ended: \(error.message)"))
            serve(stream)
        case .submitResponseHeaders:
            guard let outbound = stream.outbound else { return }
            let initial = outbound.responseMetadata.initial
            if let alternate = stream.alternate, let format = alternate.webFormat {
                let headers = webResponseHeaders(alternate, format: format, outbound: outbound, initial: initial)
                session.submitResponse(streamID: stream.id, headers: headers, hasBody: true)
            } else if initial.isEmpty {
                session.submitResponse(
                    streamID: stream.id, block: PrebuiltResponseHeaders.initial(encoding: outbound.messageEncoding),
                    hasBody: true)
            } else {
                session.submitResponse(
                    streamID: stream.id,
                    headers: ResponseHeaders.initial(encoding: outbound.messageEncoding, metadata: initial),
                    hasBody: true)
            }
        case .submitTrailersOnly(let release):
            // Nothing was written: Trailers-Only (PROTOCOL-HTTP2.md), one HEADERS frame with END_STREAM. gRPC-Web
            // sends its head and a body of the trailer frame alone, as for a refused call.
            if let alternate = stream.alternate, let format = alternate.webFormat, let outbound = stream.outbound {
                alternate.setTail(GRPCWebTrailers.frame(fields: trailers(for: ending, outbound: outbound)))
                let headers = webResponseHeaders(
                    alternate, format: format, outbound: outbound, initial: outbound.responseMetadata.initial)
                session.submitResponse(streamID: stream.id, headers: headers, hasBody: true)
            } else if let outbound = stream.outbound {
                let metadata = outbound.responseMetadata
                var trailing = metadata.initial
                trailing.add(contentsOf: metadata.trailing)
                let status: RPCError
                switch ending {
                case .finished: status = RPCError(.ok, "")
                case .failed(let error):
                    status = error
                    trailing.add(contentsOf: error.metadata)
                }
                let headers = ResponseHeaders.trailersOnly(
                    status: status.code, message: status.message, metadata: trailing)
                session.submitResponse(streamID: stream.id, headers: headers, hasBody: false)
            }
            self.release(stream, release, because: Self.callEnded)
        case .resumeData:
            session.resumeData(streamID: stream.id)
        case .submitTrailers(let release):
            // gRPC-Web's trailers went out in the body already.
            if stream.alternate == nil, let outbound = stream.outbound {
                if case .finished = ending, outbound.responseMetadata.trailing.isEmpty {
                    session.submitTrailer(streamID: stream.id, block: PrebuiltResponseHeaders.okTrailers)
                } else {
                    session.submitTrailer(streamID: stream.id, headers: trailers(for: ending, outbound: outbound))
                }
            }
            self.release(stream, release, because: Self.callEnded)
        case .release(let release):
            self.release(stream, release, because: failure ?? Self.callEnded)
        }
    }

    /// Why a finished call's late writes fail.
    private static let callEnded = RPCError(.cancelled, "the call has ended")

    /// Lets go of what the state machine says a call no longer needs; `error` is what its handler's pending and
    /// later reads and writes throw.
    private func release(_ stream: ServerStream, _ release: ServerStreamStateMachine.Release, because error: RPCError) {
        if release.contains(.cancelDeadlineTimer) {
            if let timer = stream.deadlineTimer { socket.loop.cancelTimer(timer) }
            stream.deadlineTimer = nil
        }
        if release.contains(.cancelHandler) { stream.task?.cancel() }
        if release.contains(.abortInbound) { stream.inbound?.abort(error) }
        if release.contains(.closeOutbound) { stream.outbound?.close(error) }
    }

    private func trailers(for ending: OutboundMessages.Ending, outbound: OutboundMessages) -> [HeaderField] {
        var metadata = outbound.responseMetadata.trailing
        switch ending {
        case .finished:
            return ResponseHeaders.trailers(status: .ok, message: "", metadata: metadata)
        case .failed(let error):
            metadata.add(contentsOf: error.metadata)
            return ResponseHeaders.trailers(status: error.code, message: error.message, metadata: metadata)
        }
    }

    private func serveWakeups(_ ids: [Int32]) {
        for id in ids {
            guard let stream = streams[id] else { continue }
            serve(stream)
            returnWindowIfRoom(stream)
        }
        socket.flush()
    }

    /// Moves a call's response forward: first HEADERS (or Trailers-Only), or resumes its parked provider.
    private func serve(_ stream: ServerStream) {
        guard let outbound = stream.outbound else { return }
        var ending = OutboundMessages.Ending.finished
        let action = stream.lifecycle.outputReady {
            guard outbound.hasPendingOutput else { return .nothing }
            guard let ended = outbound.endedWithoutMessages else { return .messages }
            ending = ended
            return .endedWithoutMessages
        }
        perform(action, on: stream, ending: ending)
    }

    /// Returns received bytes to flow control while the handler keeps up; otherwise waits for it to drain.
    private func returnWindowIfRoom(_ stream: ServerStream) {
        guard stream.unconsumedBytes > 0 else { return }
        if let inbound = stream.inbound, stream.lifecycle.isRunning, inbound.requestDrainNotice() { return }
        session.consume(streamID: stream.id, count: stream.unconsumedBytes)
        stream.unconsumedBytes = 0
    }
}
