import GRPCProtocol
import RPCCore

/// One call on a client connection, as the loop thread tracks it: the lifecycle decisions in `lifecycle`, the
/// things they act on beside it.
final class ClientStream {
    let callID: Int32
    let path: String
    let headers: [HeaderField]
    let inbound: InboundMessages
    let outbound: OutboundMessages
    /// Where the response headers' and trailers' metadata go for the caller's `ResponseStream`.
    let responseMetadata: ResponseMetadata
    /// Where the call is in its life, and its status once decided.
    var lifecycle = ClientStreamStateMachine()
    /// Set once the HEADERS were submitted.
    var streamID: Int32?
    var deframer: GRPCMessageDeframer?
    /// The header block being received.
    var receivingHeaders: [HeaderField] = []
    var deadlineTimer: TimerID?
    /// DATA bytes received but not yet returned to flow control.
    var unconsumedBytes = 0
    /// The connection carrying the call, once started.
    weak var owner: ClientConnection?
    /// The task sending the requests; cancelled when the call ends first.
    var requestPump: Task<Void, Never>?

    init(
        callID: Int32, path: String, headers: [HeaderField], inbound: InboundMessages, outbound: OutboundMessages,
        responseMetadata: ResponseMetadata
    ) {
        self.responseMetadata = responseMetadata
        self.callID = callID
        self.path = path
        self.headers = headers
        self.inbound = inbound
        self.outbound = outbound
    }
}

/// The calls of one client transport that are still open, by call id, so wake-ups and cancellations from other
/// threads find them whichever connection carries them. Lives on the transport's loop.
final class ClientCallRegistry {
    var calls: [Int32: ClientStream] = [:]

    /// Lets the owning connections move the woken calls forward.
    func serveWakeups(_ callIDs: [Int32]) {
        var touched: [ObjectIdentifier: ClientConnection] = [:]
        for callID in callIDs {
            guard let stream = calls[callID], let owner = stream.owner else { continue }
            owner.serveWakeup(stream)
            touched[ObjectIdentifier(owner)] = owner
        }
        for connection in touched.values { connection.flushOutput() }
    }
}
