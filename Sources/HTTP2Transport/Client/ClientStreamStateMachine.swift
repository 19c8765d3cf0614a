import CNGHTTP2
import GRPCProtocol
import RPCCore

/// The life of one gRPC call on a client stream, without I/O: the connection reports what happened on the wire,
/// in the connection or in the call and carries out the action the machine answers, so every order of events can
/// be tested without sockets. The machine decides each call's final status and trailing metadata. Events that
/// make no sense in the current state answer `.none` (or the harmless choice their doc names); none traps.
struct ClientStreamStateMachine: Hashable {
    /// Where the call is in its life.
    enum Phase: Hashable {
        /// Waiting for the connection to be made before its request HEADERS can be submitted.
        case queued
        /// The request HEADERS are submitted: the call has a stream and runs.
        case open
        /// The caller has the call's status; the stream, if it had one, is still known to nghttp2 and its
        /// received bytes still count against the connection window.
        case finished
        /// The call ended and its stream is gone: every event is ignored.
        case closed
    }

    /// How the call ends: what the caller and the server are told.
    struct Ending: Hashable {
        /// The call's status; nil is OK.
        var status: RPCError?
        /// The trailing metadata the caller sees: the trailers' (or Trailers-Only head's) custom metadata, else
        /// the status's.
        var trailingMetadata: Metadata
        /// Send RST_STREAM CANCEL: the call ends while its stream is open on our side.
        var resetStream: Bool
        /// The deadline timer is armed and must be cancelled (it would otherwise keep the call alive).
        var cancelDeadlineTimer: Bool
    }

    /// What the connection does next for this call.
    enum Action: Hashable {
        /// Nothing.
        case none
        /// Submit the request HEADERS (and the data provider), then report `requestSubmitted` or
        /// `requestSubmissionFailed`.
        case submitRequest
        /// Resume the parked request data provider.
        case resumeRequestData
        /// Record the server's initial metadata and deframe the response with its grpc-encoding.
        case acceptResponseHead(ClientResponseHead)
        /// End the call: let go of its timer, request pump and queues, and hand the caller `ending`.
        case finish(Ending)
    }

    /// What to do with a received response header field.
    enum HeaderFieldVerdict: Hashable {
        /// Keep it in the block being collected.
        case keep
        /// The block is over the limit: fail the header callback (nghttp2 resets the stream) after `action`.
        case refuse(Action)
        /// The call has no stream (not yet, or no more): drop the field.
        case discard
    }

    /// RFC 9113 §6.5.2 size of a response header block we accept (it is also what SETTINGS advertises, rounded
    /// down: a server ignoring that setting is stopped here).
    static let maxResponseHeaderListSize = 64 * 1024

    /// Where the call is in its life.
    private(set) var phase = Phase.queued
    /// The response's first header block once it arrived (a validated head, or a Trailers-Only block).
    private(set) var responseHead: [HeaderField]?
    /// A deadline timer is armed for the call.
    private(set) var deadlineArmed = false
    /// The request data provider returned NGHTTP2_ERR_DEFERRED and waits to be resumed.
    private(set) var requestParked = false
    /// RFC 9113 §6.5.2 size of the header block being received.
    private(set) var headerListSize = 0

    /// Creates the machine of a call waiting for its connection.
    init() {}

    /// Whether the caller has the call's status already.
    var isFinished: Bool { phase == .finished || phase == .closed }

    // MARK: Starting

    /// A deadline timer was armed as the call started.
    mutating func deadlineTimerArmed() {
        guard phase == .queued else { return }
        deadlineArmed = true
    }

    /// The connection is made (or already was): a queued call submits its request.
    func connectionReady() -> Action {
        phase == .queued ? .submitRequest : .none
    }

    /// nghttp2 took the request HEADERS and gave the call a stream.
    mutating func requestSubmitted() {
        guard phase == .queued else { return }
        phase = .open
    }

    /// nghttp2 refused the request HEADERS with error `code`: the call fails UNAVAILABLE.
    mutating func requestSubmissionFailed(code: Int) -> Action {
        guard phase == .queued else { return .none }
        return finish(status: RPCError(.unavailable, "could not start the call: nghttp2 error \(code)"))
    }

    // MARK: Request

    /// Whether the request data provider may read the call's queued messages (otherwise it ends the body).
    var requestBodyReadable: Bool { phase == .open }

    /// The request data provider found nothing to send and returned NGHTTP2_ERR_DEFERRED.
    mutating func requestProviderParked() {
        guard phase == .open else { return }
        requestParked = true
    }

    /// The caller's writer queued bytes (or ended): resumes the parked provider when there is something to send.
    /// `hasPendingOutput` is asked only while the provider is parked.
    mutating func requestOutputReady(_ hasPendingOutput: () -> Bool) -> Action {
        guard phase == .open, requestParked, hasPendingOutput() else { return .none }
        requestParked = false
        return .resumeRequestData
    }

    // MARK: Response

    /// A header block (response head or trailers) begins on the call's stream.
    mutating func responseHeadersBegan() {
        guard phase == .open || phase == .finished else { return }
        headerListSize = 0
    }

    /// A response header field of `size` bytes (name, value, 32) arrived.
    mutating func responseHeaderFieldReceived(size: Int) -> HeaderFieldVerdict {
        guard phase == .open || phase == .finished else { return .discard }
        headerListSize += size
        guard headerListSize > Self.maxResponseHeaderListSize else { return .keep }
        guard phase == .open else { return .refuse(.none) }
        return .refuse(
            finish(status: RPCError(.resourceExhausted, "response header list too large"), resetStream: true))
    }

    /// A whole header block arrived: the response head (initial metadata, or Trailers-Only), or the trailers.
    /// `endStream` when it carried END_STREAM; `partialMessage` when the response bytes stopped inside a message.
    mutating func responseHeadersEnded(_ block: [HeaderField], endStream: Bool, partialMessage: Bool) -> Action {
        guard phase == .open else { return .none }
        guard responseHead == nil else { return responseEnded(trailers: block, partialMessage: partialMessage) }
        if ClientHeaders.isTrailersOnly(block) || endStream {
            responseHead = block
            // A head that ends the stream is the whole response: its status (from the HTTP status when it lacks
            // grpc-status) ends the call, and a stream the server left open is cancelled.
            return finish(
                status: ClientHeaders.status(fromTrailers: block, responseHead: nil), trailers: block,
                resetStream: !endStream)
        }
        switch ClientHeaders.parseResponseHead(block) {
        case .success(let head):
            responseHead = block
            return .acceptResponseHead(head)
        case .failure(let error):
            return finish(status: error, resetStream: true)
        }
    }

    /// Whether a DATA chunk goes to the deframer (otherwise its window is returned at once and the bytes dropped:
    /// the call ended, or no valid response head came first).
    var responseDataReadable: Bool { phase == .open && responseHead != nil }

    /// The response bytes are not a valid gRPC message stream (too large, bad compression): the call fails with
    /// `error` and the stream is cancelled.
    mutating func responseDeframingFailed(_ error: RPCError) -> Action {
        guard phase == .open else { return .none }
        return finish(status: error, resetStream: true)
    }

    /// The response ended with `trailers` (empty for DATA with END_STREAM); `partialMessage` when the bytes stopped
    /// inside a message.
    mutating func responseEnded(trailers: [HeaderField], partialMessage: Bool) -> Action {
        guard phase == .open else { return .none }
        if partialMessage {
            return finish(status: RPCError(.internalError, "the response ended inside a message"))
        }
        return finish(
            status: ClientHeaders.status(fromTrailers: trailers, responseHead: responseHead), trailers: trailers)
    }

    // MARK: Ends

    /// The caller went away or its requests failed: the call ends with `status`, cancelling its stream.
    mutating func cancelled(_ status: RPCError) -> Action {
        guard phase == .queued || phase == .open else { return .none }
        return finish(status: status, resetStream: true)
    }

    /// The deadline timer of a call that waited `timeout` fired: DEADLINE_EXCEEDED, and the stream is cancelled.
    mutating func deadlineFired(after timeout: Duration) -> Action {
        guard deadlineArmed else { return .none }
        deadlineArmed = false
        return finish(status: RPCError(.deadlineExceeded, "deadline exceeded after \(timeout)"), resetStream: true)
    }

    /// The connection could not be made, or closed, or the transport is closed: the call fails with `error`.
    /// Nothing is reset: there is no connection to send it on.
    mutating func connectionFailed(_ error: RPCError) -> Action {
        guard phase == .queued || phase == .open else { return .none }
        return finish(status: error)
    }

    /// nghttp2 closed the call's stream with HTTP/2 `errorCode` (0 once both sides ended, or the server's
    /// RST_STREAM, or REFUSED_STREAM for streams above a GOAWAY's last-stream-id). A call still running ends with
    /// the status the code maps to.
    mutating func streamClosed(errorCode: UInt32) -> Action {
        switch phase {
        case .queued, .closed:
            return .none
        case .finished:
            phase = .closed
            return .none
        case .open:
            let status: RPCError
            switch errorCode {
            case NGHTTP2_NO_ERROR.rawValue:
                status = ClientHeaders.finalStatus(fromTrailers: [], responseHead: responseHead)
            case NGHTTP2_REFUSED_STREAM.rawValue:
                // RFC 9113 §8.7: a refused stream was not processed, so the call may be sent again.
                status = RPCError(.unavailable, "the server refused the stream (REFUSED_STREAM)").markedUnprocessed()
            case NGHTTP2_CANCEL.rawValue:
                status = RPCError(.cancelled, "the server cancelled the stream")
            // gRPC's PROTOCOL-HTTP2.md, "Errors": a server that calms a client down, or finds the connection's
            // security too weak, says so with these codes.
            case NGHTTP2_ENHANCE_YOUR_CALM.rawValue:
                status = RPCError(.resourceExhausted, "the server reset the stream (ENHANCE_YOUR_CALM)")
            case NGHTTP2_INADEQUATE_SECURITY.rawValue:
                status = RPCError(.permissionDenied, "the server reset the stream (INADEQUATE_SECURITY)")
            default:
                status = RPCError(.internalError, "the stream was reset with HTTP/2 error code \(errorCode)")
            }
            let action = finish(status: status)
            phase = .closed
            return action
        }
    }

    // MARK: Helpers

    /// Ends a running or queued call. `trailers` is the block that carried the status, whose custom metadata
    /// becomes the trailing metadata; without one the status's metadata is used. A reset is sent only for a
    /// stream that exists. A queued call's request never left the client: its status says it was not processed.
    private mutating func finish(
        status: RPCError?, trailers: [HeaderField]? = nil, resetStream: Bool = false
    ) -> Action {
        var status = status
        if phase == .queued { status = status?.markedUnprocessed() }
        let ending = Ending(
            status: status,
            trailingMetadata: trailers.map { MetadataHeaders.metadata(from: $0) } ?? status?.metadata ?? [:],
            resetStream: resetStream && phase == .open, cancelDeadlineTimer: deadlineArmed)
        phase = .finished
        deadlineArmed = false
        requestParked = false
        return .finish(ending)
    }
}
