import GRPCProtocol
import RPCCore

/// One gRPC call on a server connection, as the loop thread tracks it.
final class ServerStream {
    /// Where the call is in its life.
    enum Phase {
        /// Request headers are arriving.
        case receivingHeaders
        /// The handler runs (or ran) and the response is being sent.
        case running
        /// The response ended without a handler (HTTP error, Trailers-Only rejection).
        case rejected
    }

    let id: Int32
    var phase = Phase.receivingHeaders
    var headers: [HeaderField] = []
    var headerListSize = 0
    var deframer: GRPCMessageDeframer?
    var inbound: InboundMessages?
    var outbound: OutboundMessages?
    var task: Task<Void, Never>?
    var deadlineTimer: TimerID?
    /// Response HEADERS were submitted (with a body to follow).
    var responseStarted = false
    /// The data provider returned NGHTTP2_ERR_DEFERRED and waits for `resumeData`.
    var providerParked = false
    /// The trailers (or a Trailers-Only / error response) were submitted.
    var responseEnded = false
    /// The client ended its side (END_STREAM).
    var requestEnded = false
    /// DATA bytes received but not yet returned to flow control.
    var unconsumedBytes = 0

    init(id: Int32) {
        self.id = id
    }
}
