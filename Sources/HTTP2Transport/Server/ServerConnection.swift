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

    init(router: ServiceRouter, configuration: ServerConfiguration, tlsContext: TLSContext?) {
        self.router = router
        self.tlsContext = tlsContext
        self.configuration = configuration
        self.inboundLowWater = max(1, configuration.limits.inboundBytesPerStream)
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
    private(set) var isDraining = false

    /// Prepares the engine for `socket`; `SocketConnection.start(engine:)` starts it.
    init(socket: SocketConnection, shared: ServerShared, peer: String) {
        self.shared = shared
        self.socket = socket
        self.peer = peer
        let limits = shared.configuration.limits
        self.resets = WindowCounter(limit: limits.maxResetsPerWindow, window: limits.floodWindow)
        self.controlFrames = WindowCounter(limit: limits.maxControlFramesPerWindow, window: limits.floodWindow)
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
        self.wakeups = StreamWakeups(loop: socket.loop) { [weak self] ids in self?.serveWakeups(ids) }
        prefaceTimer = socket.loop.scheduleTimer(after: limits.prefaceTimeout) { [weak self] in
            self?.socket.close(reason: "no HTTP/2 preface within \(limits.prefaceTimeout)")
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
        session.receive(bytes)
    }

    func produce(into output: inout [UInt8], limit: Int) -> Bool {
        session.send(into: &output, limit: limit)
    }

    var isFinished: Bool { (closeRequested && streams.isEmpty) || !session.isActive }

    func connectionClosed(reason: String) {
        cancelTimers()
        let open = streams
        streams = [:]
        for stream in open.values { abandon(stream, because: RPCError(.unavailable, "connection closed: \(reason)")) }
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
        prefaceTimer = nil
        idleTimer = nil
    }

    private func armIdleTimer() {
        guard idleTimer == nil, streams.isEmpty else { return }
        idleTimer = socket.loop.scheduleTimer(after: limits.idleTimeout) { [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            if self.streams.isEmpty { self.beginDraining() }
        }
    }

    private func calmDown(_ reason: String) {
        guard !closeRequested || !isDraining else { return }
        session.submitGoAway(errorCode: NGHTTP2_ENHANCE_YOUR_CALM, debug: reason)
        isDraining = true
        closeRequested = true
        let open = streams
        for stream in open.values {
            session.resetStream(stream.id, errorCode: NGHTTP2_CANCEL)
            abandon(stream, because: RPCError(.unavailable, reason))
        }
        streams = [:]
    }

    // MARK: HTTP2SessionDelegate

    func sessionBeginHeaders(streamID: Int32, category: nghttp2_headers_category) -> Int32 {
        guard category == NGHTTP2_HCAT_REQUEST else { return 0 }
        if let idleTimer {
            socket.loop.cancelTimer(idleTimer)
            self.idleTimer = nil
        }
        streams[streamID] = ServerStream(id: streamID)
        return 0
    }

    func sessionHeader(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID], stream.phase == .receivingHeaders else { return 0 }
        // RFC 9113 §6.5.2: the size of a field is its name and value lengths plus 32.
        stream.headerListSize += name.count + value.count + 32
        if stream.headerListSize > limits.maxHeaderListSize {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        stream.headers.append(
            HeaderField(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        return 0
    }

    func sessionFrameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        if let prefaceTimer {
            socket.loop.cancelTimer(prefaceTimer)
            self.prefaceTimer = nil
            armIdleTimer()
        }
        let header = frame.pointee.hd
        let endStream = UInt32(header.flags) & NGHTTP2_FLAG_END_STREAM.rawValue != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            guard let stream = streams[header.stream_id] else { return 0 }
            if stream.phase == .receivingHeaders && frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                startCall(stream)
            }
            if endStream { endRequest(stream) }
        case NGHTTP2_DATA.rawValue:
            if header.length == 0 && !endStream && controlFrames.record() {
                calmDown("too many empty DATA frames")
                return 0
            }
            if endStream, let stream = streams[header.stream_id] { endRequest(stream) }
        case NGHTTP2_RST_STREAM.rawValue:
            if resets.record() { calmDown("too many stream resets") }
        case NGHTTP2_PING.rawValue, NGHTTP2_SETTINGS.rawValue:
            if controlFrames.record() { calmDown("too many control frames") }
        default:
            break
        }
        return 0
    }

    func sessionDataChunk(streamID: Int32, data: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[streamID], var deframer = stream.deframer, let inbound = stream.inbound else {
            // Not a running call (rejected or unknown): the bytes are not wanted; return their window at once.
            session.consume(streamID: streamID, count: data.count)
            return 0
        }
        stream.unconsumedBytes += data.count
        deframer.append(data)
        do {
            while let message = try deframer.nextMessage() { inbound.append(message) }
            stream.deframer = deframer
        } catch {
            stream.deframer = nil
            fail(stream, with: error)
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
        abandon(stream, because: reason)
        session.consumeConnection(count: stream.unconsumedBytes)
        armIdleTimer()
        return 0
    }

    func sessionReadData(
        streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let stream = streams[streamID], let outbound = stream.outbound else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let result = outbound.read(into: buffer)
        if let ending = result.ending {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            stream.responseEnded = true
            session.submitTrailer(streamID: streamID, headers: trailers(for: ending, outbound: outbound))
            finishCall(stream)
            return result.count
        }
        if result.mustWait {
            stream.providerParked = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return result.count
    }

    func sessionFrameSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        let type = UInt32(header.type)
        guard type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue,
            UInt32(header.flags) & NGHTTP2_FLAG_END_STREAM.rawValue != 0
        else { return 0 }
        // RFC 9113 §8.1: after a complete response the server may reset with NO_ERROR so the client stops
        // sending a request nobody reads.
        if session.isRemoteOpen(header.stream_id) {
            session.resetStream(header.stream_id, errorCode: NGHTTP2_NO_ERROR)
        }
        return 0
    }

    // MARK: Calls

    private func startCall(_ stream: ServerStream) {
        let head: RequestHead
        switch RequestHead.parse(stream.headers) {
        case .success(let parsed):
            head = parsed
        case .failure(.httpStatus(let status, let message)):
            reject(stream, headers: ResponseHeaders.httpError(status: status, message: message))
            return
        case .failure(.grpcStatus(let error)):
            reject(stream, headers: ResponseHeaders.trailersOnly(status: error.code, message: error.message, metadata: error.metadata))
            return
        }
        stream.headers = []
        let method: ServerMethod
        do {
            method = try shared.router.method(forPath: head.path)
        } catch {
            reject(stream, headers: ResponseHeaders.trailersOnly(status: error.code, message: error.message, metadata: [:]))
            return
        }
        stream.phase = .running
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
        let context = ServerContext(method: method.descriptor, metadata: head.metadata, peer: peer)
        let call = ServerCallResponse(
            outbound: outbound, peerIdentity: socket.pipe?.peerIdentity, requestEncoding: head.encoding.rawValue)
        stream.task = Task {
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
            stream.deadlineTimer = socket.loop.scheduleTimer(after: timeout) { [weak self, weak stream] in
                guard let self, let stream else { return }
                stream.deadlineTimer = nil
                self.fail(stream, with: RPCError(.deadlineExceeded, "deadline exceeded after \(timeout)"))
                self.socket.flush()
            }
        }
    }

    private func reject(_ stream: ServerStream, headers: [HeaderField]) {
        stream.phase = .rejected
        stream.headers = []
        stream.responseEnded = true
        session.submitResponse(streamID: stream.id, headers: headers, hasBody: false)
    }

    private func endRequest(_ stream: ServerStream) {
        guard !stream.requestEnded else { return }
        stream.requestEnded = true
        guard stream.phase == .running, let inbound = stream.inbound else { return }
        if let deframer = stream.deframer, deframer.hasPartialMessage {
            fail(stream, with: RPCError(.internalError, "the request ended inside a message"))
        } else {
            inbound.finish()
        }
    }

    /// Ends a running call with `error` now (deadline, oversized or corrupt request): the handler is cancelled
    /// and the status goes out in place of anything it had queued.
    private func fail(_ stream: ServerStream, with error: RPCError) {
        guard stream.phase == .running, !stream.responseEnded else { return }
        stream.task?.cancel()
        stream.inbound?.abort(error)
        stream.outbound?.override(with: .failed(error), writerError: RPCError(.cancelled, "the call has ended: \(error.message)"))
        serve(stream)
    }

    /// Tears down what is left of a call whose stream is gone.
    private func abandon(_ stream: ServerStream, because error: RPCError) {
        if let timer = stream.deadlineTimer { socket.loop.cancelTimer(timer) }
        stream.deadlineTimer = nil
        if !stream.responseEnded { stream.task?.cancel() }
        stream.inbound?.abort(error)
        stream.outbound?.close(error)
        stream.task = nil
    }

    private func finishCall(_ stream: ServerStream) {
        if let timer = stream.deadlineTimer { socket.loop.cancelTimer(timer) }
        stream.deadlineTimer = nil
        stream.outbound?.close(RPCError(.cancelled, "the call has ended"))
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
        guard stream.phase == .running, !stream.responseEnded, let outbound = stream.outbound else { return }
        if !stream.responseStarted {
            guard outbound.hasPendingOutput else { return }
            let metadata = outbound.responseMetadata
            if let ending = outbound.endedWithoutMessages {
                // Nothing was written: Trailers-Only (PROTOCOL-HTTP2.md), one HEADERS frame with END_STREAM.
                var trailing = metadata.initial
                trailing.add(contentsOf: metadata.trailing)
                let status: RPCError
                switch ending {
                case .finished: status = RPCError(.ok, "")
                case .failed(let error):
                    status = error
                    trailing.add(contentsOf: error.metadata)
                }
                stream.responseEnded = true
                session.submitResponse(
                    streamID: stream.id,
                    headers: ResponseHeaders.trailersOnly(status: status.code, message: status.message, metadata: trailing),
                    hasBody: false)
                finishCall(stream)
                return
            }
            stream.responseStarted = true
            session.submitResponse(
                streamID: stream.id,
                headers: ResponseHeaders.initial(encoding: outbound.messageEncoding, metadata: metadata.initial),
                hasBody: true)
        } else if stream.providerParked {
            stream.providerParked = false
            session.resumeData(streamID: stream.id)
        }
    }

    /// Returns received bytes to flow control while the handler keeps up; otherwise waits for it to drain.
    private func returnWindowIfRoom(_ stream: ServerStream) {
        guard stream.unconsumedBytes > 0 else { return }
        if let inbound = stream.inbound, stream.phase == .running, inbound.requestDrainNotice() { return }
        session.consume(streamID: stream.id, count: stream.unconsumedBytes)
        stream.unconsumedBytes = 0
    }
}
