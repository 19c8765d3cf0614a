import RPCCore
import Tracing

// Span names, attributes and statuses follow OpenTelemetry's semantic conventions for RPC spans and gRPC
// (https://opentelemetry.io/docs/specs/semconv/rpc/rpc-spans/ and .../grpc/), as the log fields and metrics do.

extension MethodDescriptor {
    /// The span name OpenTelemetry gives a call: "package.Service/Method", the path without its leading slash.
    var spanName: String { "\(service)/\(method)" }
}

extension RPCError.Code {
    /// Whether a call that ended with this status sets its span's status to error. On the client every status
    /// but OK does. On the server only those that mean the server failed (UNKNOWN, DEADLINE_EXCEEDED,
    /// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) do: a PERMISSION_DENIED for a caller without a grant is
    /// the server working as it should, and counting it as a server error would drown real failures.
    func isSpanError(on side: RPCSide) -> Bool {
        switch self {
        case .ok:
            return false
        case .unknown, .deadlineExceeded, .unimplemented, .internalError, .unavailable, .dataLoss:
            return true
        default:
            return side == .client
        }
    }
}

extension SpanAttributes {
    /// Sets the attributes that name a call: rpc.system=grpc, rpc.service and rpc.method.
    mutating func setCall(_ method: MethodDescriptor) {
        self["rpc.system"] = "grpc"
        self["rpc.service"] = method.service
        self["rpc.method"] = method.method
    }
}

extension FinishedCall {
    /// Ends `span` with how the call ended: rpc.grpc.status_code always; for a status that is an error on
    /// `side` (see `RPCError.Code.isSpanError(on:)`) also the span status error, with the status message as its
    /// description, and the error recorded as an event. OK leaves the status unset, as OpenTelemetry asks of
    /// instrumentation. Status messages reach tracing backends: handlers must not put health data in them (the
    /// client receives them too).
    func end(_ span: some Span, side: RPCSide) {
        span.attributes["rpc.grpc.status_code"] = code.rawValue
        if let failure, code.isSpanError(on: side) {
            span.recordError(failure)
            span.setStatus(SpanStatus(code: .error, message: failure.message.isEmpty ? nil : failure.message))
        }
        span.end()
    }
}

/// A peer as the HTTP/2 transport describes it ("ipv4:127.0.0.1:51234", "ipv6:[::1]:51234"), split into
/// OpenTelemetry's network.type, network.peer.address and network.peer.port. Other descriptions
/// ("in-process") name no network peer.
struct NetworkPeer: Equatable, Sendable {
    /// "ipv4" or "ipv6".
    var type: String
    /// The address without brackets: "127.0.0.1", "::1".
    var address: String
    /// The peer's port.
    var port: Int
}

extension NetworkPeer {
    /// Splits `peer`, or nil when it is not an IPv4 or IPv6 socket address.
    init?(describing peer: String) {
        guard let colon = peer.firstIndex(of: ":") else { return nil }
        let type = peer[..<colon]
        let rest = peer[peer.index(after: colon)...]
        guard let portColon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: portColon)...]),
            (0...65_535).contains(port)
        else { return nil }
        var host = rest[..<portColon]
        switch type {
        case "ipv4":
            guard !host.contains(":") else { return nil }
        case "ipv6":
            guard host.first == "[", host.last == "]" else { return nil }
            host = host.dropFirst().dropLast()
        default:
            return nil
        }
        guard !host.isEmpty else { return nil }
        self.type = String(type)
        self.address = String(host)
        self.port = port
    }
}
