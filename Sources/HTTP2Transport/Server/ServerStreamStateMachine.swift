/// The life of one gRPC call on a server stream, without I/O: the connection reports what happened on the wire
/// or in the call and carries out the action the machine answers, so every order of events can be tested
/// without sockets. Events that make no sense in the current state answer `.none` (or the harmless choice
/// their doc names); none traps.
struct ServerStreamStateMachine: Hashable {
    /// Where the call is in its life.
    enum Phase: Hashable {
        /// Request headers are arriving.
        case receivingHeaders
        /// The handler runs (or ran) and the response is being sent.
        case running
        /// The response ended without a handler (HTTP error, Trailers-Only rejection, refused header list).
        case rejected
        /// The stream is gone (closed by nghttp2, the connection, or a calm-down): every event is ignored.
        case closed
    }

    /// How far the response of a running call has got.
    enum Response: Hashable {
        /// Nothing is submitted yet.
        case notStarted
        /// Response HEADERS are submitted and the data provider pulls the body.
        case streaming
        /// As `streaming`, but the provider returned NGHTTP2_ERR_DEFERRED and waits to be resumed.
        case parked
        /// The trailers (or a Trailers-Only, rejection or refusal) are submitted, or the stream is gone: nothing
        /// more goes out.
        case ended
    }

    /// What the call's outbound queue holds when the machine asks.
    enum PendingOutput: Equatable {
        /// Nothing yet: the handler has neither written nor ended.
        case nothing
        /// Messages (and maybe the ending after them).
        case messages
        /// The ending alone: the response is Trailers-Only.
        case endedWithoutMessages
    }

    /// What the connection lets go of when a call ends, in this order: deadline timer, handler task, inbound,
    /// outbound.
    struct Release: OptionSet, Hashable {
        let rawValue: UInt8
        /// The deadline timer is armed and must be cancelled (it would otherwise keep the stream alive).
        static let cancelDeadlineTimer = Release(rawValue: 1 << 0)
        /// The handler may still run and nothing will send its response: cancel its task.
        static let cancelHandler = Release(rawValue: 1 << 1)
        /// Fail the request messages the handler reads with the connection's reason.
        static let abortInbound = Release(rawValue: 1 << 2)
        /// Close the response queue so the handler's pending and later writes throw.
        static let closeOutbound = Release(rawValue: 1 << 3)
    }

    /// The RST_STREAM codes the lifecycle sends.
    enum ResetCode: Equatable {
        /// The request's header list is over the limit (gRPC clients report RESOURCE_EXHAUSTED).
        case enhanceYourCalm
        /// The connection is shedding its calls.
        case cancel
    }

    /// What the connection does next for this stream.
    enum Action: Equatable {
        /// Nothing.
        case none
        /// Validate and route the complete request headers, then report `callStarted` or `callRejected`.
        case startCall
        /// Send RST_STREAM with `code`, then let go of `release`.
        case resetStream(ResetCode, Release)
        /// End the handler's request stream normally after what is buffered.
        case finishInbound
        /// End the call with an error now: cancel the handler task, abort the inbound with the error, replace the
        /// queued response with the error status, then report `outputReady` so it goes out.
        case failCall
        /// Submit the response HEADERS with a body (DATA from the data provider) to follow.
        case submitResponseHeaders
        /// Submit a Trailers-Only response (one HEADERS with END_STREAM), then let go of `release`.
        case submitTrailersOnly(Release)
        /// Resume the parked data provider.
        case resumeData
        /// Submit the trailers after the last DATA, then let go of `release`.
        case submitTrailers(Release)
        /// Let go of `release`; nothing more goes out on the stream.
        case release(Release)
    }

    /// Where the call is in its life.
    private(set) var phase = Phase.receivingHeaders
    /// How far its response has got.
    private(set) var response = Response.notStarted
    /// The client ended its side (END_STREAM).
    private(set) var requestEnded = false
    /// A deadline timer is armed for the call.
    private(set) var deadlineArmed = false
    /// The request bytes could not be deframed: later DATA is discarded.
    private(set) var requestUnreadable = false
    /// RFC 9113 §6.5.2 size of the request's header list so far.
    private(set) var headerListSize = 0
    /// The header list went over the limit: the stream is refused when its block ends.
    private(set) var headerListOversized = false

    /// Creates the machine of a stream whose request headers begin.
    init() {}

    /// Whether the handler's request stream takes DATA and whose window follows its reads.
    var isRunning: Bool { phase == .running }

    // MARK: Request

    /// A request header field of `size` bytes (name, value, 32) arrived; returns whether to keep it. False once the
    /// list is over `limit` (drop what was collected: decoding goes on for HPACK but memory stays bounded) and
    /// outside the request header block.
    mutating func headerFieldReceived(size: Int, limit: Int) -> Bool {
        guard phase == .receivingHeaders else { return false }
        headerListSize += size
        if headerListSize > limit { headerListOversized = true }
        return !headerListOversized
    }

    /// A whole HEADERS block arrived; `isRequest` when it opens the request (not trailers).
    mutating func headersEnded(isRequest: Bool) -> Action {
        guard phase == .receivingHeaders else { return .none }
        if headerListOversized {
            phase = .rejected
            response = .ended
            return .resetStream(.enhanceYourCalm, [])
        }
        return isRequest ? .startCall : .none
    }

    /// The headers were invalid or named no method: the connection submits its rejection (HTTP error or
    /// Trailers-Only); returns whether it may (only once, while the headers were pending).
    mutating func callRejected() -> Bool {
        guard phase == .receivingHeaders else { return false }
        phase = .rejected
        response = .ended
        return true
    }

    /// The handler task started, with a deadline timer armed when `deadlineArmed`.
    mutating func callStarted(deadlineArmed: Bool) {
        guard phase == .receivingHeaders else { return }
        phase = .running
        self.deadlineArmed = deadlineArmed
    }

    /// A DATA chunk arrived; returns whether to deframe it for the handler (otherwise its window is returned at
    /// once and the bytes dropped: a rejected or failed call, or data nghttp2 should not have passed).
    func requestDataReceived() -> Bool {
        phase == .running && !requestUnreadable && !requestEnded
    }

    /// The request bytes are not a valid gRPC message stream (too large, bad compression): the call fails.
    mutating func requestDeframingFailed() -> Action {
        guard phase == .running else { return .none }
        requestUnreadable = true
        return fail()
    }

    /// The client ended its side; `partialMessage` when the bytes stopped inside a message.
    mutating func requestEnded(partialMessage: Bool) -> Action {
        guard phase != .closed, !requestEnded else { return .none }
        requestEnded = true
        guard phase == .running else { return .none }
        return partialMessage ? fail() : .finishInbound
    }

    // MARK: Response

    /// The handler's output may have moved (a write, its end, an override): submits the response HEADERS or a
    /// Trailers-Only, or resumes the parked provider. `pending` is asked only before the response started.
    mutating func outputReady(_ pending: () -> PendingOutput) -> Action {
        guard phase == .running else { return .none }
        switch response {
        case .notStarted:
            switch pending() {
            case .nothing:
                return .none
            case .messages:
                response = .streaming
                return .submitResponseHeaders
            case .endedWithoutMessages:
                response = .ended
                return .submitTrailersOnly(finishing())
            }
        case .parked:
            response = .streaming
            return .resumeData
        case .streaming, .ended:
            return .none
        }
    }

    /// The data provider found nothing to send and returned NGHTTP2_ERR_DEFERRED.
    mutating func providerParked() {
        guard phase == .running, response == .streaming else { return }
        response = .parked
    }

    /// The data provider reached the writer's ending (EOF of the body): the trailers follow.
    mutating func responseBodyEnded() -> Action {
        guard phase == .running, response == .streaming || response == .parked else { return .none }
        response = .ended
        return .submitTrailers(finishing())
    }

    // MARK: Ends

    /// The deadline timer fired: a call still answering fails with DEADLINE_EXCEEDED.
    mutating func deadlineFired() -> Action {
        guard deadlineArmed else { return .none }
        deadlineArmed = false
        return fail()
    }

    /// The stream is gone (client RST_STREAM, both sides ended, or the connection closed).
    mutating func streamClosed() -> Action {
        guard phase != .closed else { return .none }
        let release = releasing()
        phase = .closed
        response = .ended
        return release.isEmpty ? .none : .release(release)
    }

    /// The connection sheds its calls (GOAWAY ENHANCE_YOUR_CALM): every stream still known is reset. A graceful
    /// drain (GOAWAY NO_ERROR) is no event: its calls carry on.
    mutating func connectionCalmedDown() -> Action {
        guard phase != .closed else { return .none }
        let release = releasing()
        phase = .closed
        response = .ended
        return .resetStream(.cancel, release)
    }

    // MARK: Helpers

    private mutating func fail() -> Action {
        guard phase == .running, response != .ended else { return .none }
        return .failCall
    }

    /// The response is complete: the timer and the writer are done with.
    private mutating func finishing() -> Release {
        var release: Release = .closeOutbound
        if deadlineArmed { release.insert(.cancelDeadlineTimer) }
        deadlineArmed = false
        return release
    }

    /// What a running call holds when its stream goes away.
    private mutating func releasing() -> Release {
        guard phase == .running else { return [] }
        var release: Release = [.abortInbound, .closeOutbound]
        if deadlineArmed { release.insert(.cancelDeadlineTimer) }
        if response != .ended { release.insert(.cancelHandler) }
        deadlineArmed = false
        return release
    }
}
