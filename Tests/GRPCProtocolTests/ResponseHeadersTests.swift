import GRPCProtocol
import RPCCore
import Testing

/// Response -> (Response-Headers *Length-Prefixed-Message Trailers) / Trailers-Only (PROTOCOL-HTTP2.md).
@Suite("Response headers")
struct ResponseHeadersTests {
    @Test("Response-Headers carry :status, content-type, grpc-encoding when compressing, accept-encoding, metadata")
    func initial() {
        #expect(
            ResponseHeaders.initial(encoding: .gzip, metadata: ["x-shard": "7"]) == [
                HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
                HeaderField("grpc-encoding", "gzip"), HeaderField("grpc-accept-encoding", "identity,deflate,gzip"),
                HeaderField("x-shard", "7"),
            ])
        #expect(value("grpc-encoding", in: ResponseHeaders.initial(encoding: .identity, metadata: [:])) == nil)
    }

    @Test("Trailers carry grpc-status even for OK, and no grpc-message when it is empty")
    func okTrailers() {
        #expect(ResponseHeaders.trailers(status: .ok, message: "", metadata: [:]) == [HeaderField("grpc-status", "0")])
    }

    @Test("grpc-message is percent-encoded and custom metadata follows")
    func errorTrailers() {
        let error = RPCError(.notFound, "no grant for 100% of records", metadata: ["retry-bin": .binary([1])])
        #expect(
            ResponseHeaders.trailers(for: error) == [
                HeaderField("grpc-status", "5"), HeaderField("grpc-message", "no grant for 100%25 of records"),
                HeaderField("retry-bin", "AQ=="),
            ])
    }

    @Test("Trailers-Only is :status 200 and content-type, then the trailers, and parses back on the client")
    func trailersOnly() {
        let fields = ResponseHeaders.trailersOnly(
            status: .permissionDenied, message: "☺ denied", metadata: ["x-policy": "p1"])
        #expect(
            Array(fields.prefix(2)) == [HeaderField(":status", "200"), HeaderField("content-type", "application/grpc")])
        #expect(ClientHeaders.isTrailersOnly(fields))
        #expect(
            ClientHeaders.status(fromTrailers: fields, responseHead: nil)
                == RPCError(.permissionDenied, "☺ denied", metadata: ["x-policy": "p1"]))
    }

    @Test("an HTTP refusal carries the HTTP status and a gRPC status a gRPC client can show")
    func httpError() {
        let fields = ResponseHeaders.httpError(status: 415, message: "content-type 'text/plain' is not gRPC")
        #expect(value(":status", in: fields) == "415")
        #expect(value("grpc-status", in: fields) == "13")
        #expect(value("grpc-message", in: fields) == "content-type 'text/plain' is not gRPC")
        #expect(value("grpc-status", in: ResponseHeaders.httpError(status: 405, message: "")) == "2")
        #expect(value("grpc-message", in: ResponseHeaders.httpError(status: 400, message: "")) == nil)
    }
}
