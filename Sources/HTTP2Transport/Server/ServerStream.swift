import GRPCProtocol
import RPCCore

/// One gRPC call on a server connection, as the loop thread tracks it: the lifecycle decisions in `lifecycle`,
/// the things they act on beside it.
final class ServerStream {
    let id: Int32
    var lifecycle = ServerStreamStateMachine()
    var headers: [HeaderField] = []
    var deframer: GRPCMessageDeframer?
    var inbound: InboundMessages?
    var outbound: OutboundMessages?
    var task: Task<Void, Never>?
    var deadlineTimer: TimerID?
    /// DATA bytes received but not yet returned to flow control.
    var unconsumedBytes = 0

    init(id: Int32) {
        self.id = id
    }
}
