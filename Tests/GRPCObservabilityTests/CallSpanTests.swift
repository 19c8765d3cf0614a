import RPCCore
import Testing

@testable import GRPCObservability

@Suite("Span attributes and statuses")
struct CallSpanTests {
    @Test(arguments: [
        ("ipv4:127.0.0.1:51234", NetworkPeer?.some(NetworkPeer(type: "ipv4", address: "127.0.0.1", port: 51234))),
        ("ipv6:[::1]:443", NetworkPeer(type: "ipv6", address: "::1", port: 443)),
        ("ipv6:[2001:db8::7]:7443", NetworkPeer(type: "ipv6", address: "2001:db8::7", port: 7443)),
        ("in-process", nil),
        ("unix:/run/healthledger.sock", nil),
        ("ipv4:127.0.0.1", nil),
        ("ipv4::51234", nil),
        ("ipv4:127.0.0.1:65536", nil),
        ("ipv6:::1:443", nil),
        ("ipv6:[]:443", nil),
    ])
    func aTransportPeerDescriptionSplitsIntoOpenTelemetrysNetworkAttributes(peer: String, expected: NetworkPeer?) {
        #expect(NetworkPeer(describing: peer) == expected)
    }

    @Test func onlyServerFailuresAreErrorsOfServerSpansButEveryFailureIsAnErrorOfClientSpans() {
        let serverErrors = RPCError.Code.allCases.filter { $0.isSpanError(on: .server) }
        #expect(
            serverErrors == [.unknown, .deadlineExceeded, .unimplemented, .internalError, .unavailable, .dataLoss])
        #expect(RPCError.Code.allCases.filter { !$0.isSpanError(on: .client) } == [.ok])
    }

    @Test func theSpanNameIsThePathWithoutItsLeadingSlash() {
        #expect(
            MethodDescriptor(service: "healthledger.v1.Ledger", method: "Grant", kind: .unary).spanName
                == "healthledger.v1.Ledger/Grant")
    }
}
