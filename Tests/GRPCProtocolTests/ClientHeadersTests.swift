import GRPCProtocol
import RPCCore
import Testing

/// The client's side of PROTOCOL-HTTP2.md and http-grpc-status-mapping.md.
@Suite("Client headers")
struct ClientHeadersTests {
    @Test("a request head lists pseudo-headers, then grpc-timeout, the Call-Definition, then metadata")
    func request() {
        let fields = ClientHeaders.request(
            path: "/grpc.testing.TestService/UnaryCall", authority: "localhost:50051", scheme: "http",
            timeout: .seconds(5), encoding: .gzip, metadata: ["x-user": "dr-osei", "user-agent": "app/1"],
            userAgent: ClientHeaders.defaultUserAgent)
        #expect(
            fields == [
                HeaderField(":method", "POST"), HeaderField(":scheme", "http"),
                HeaderField(":path", "/grpc.testing.TestService/UnaryCall"),
                HeaderField(":authority", "localhost:50051"),
                HeaderField("grpc-timeout", "5000000u"), HeaderField("content-type", "application/grpc"),
                HeaderField("te", "trailers"), HeaderField("grpc-encoding", "gzip"),
                HeaderField("grpc-accept-encoding", "identity,deflate,gzip"),
                HeaderField("user-agent", "healthledger-swift/0.1.0"), HeaderField("x-user", "dr-osei"),
            ])
        // And our own server accepts it.
        let head = try? RequestHead.parse(fields).get()
        #expect(head?.timeout == .seconds(5))
        #expect(head?.encoding == .gzip)
    }

    @Test("no timeout and identity leave out grpc-timeout and grpc-encoding")
    func minimalRequest() {
        let fields = ClientHeaders.request(
            path: "/a.B/C", authority: "h", scheme: "https", timeout: nil, encoding: .identity, metadata: [:],
            userAgent: "ua")
        #expect(value("grpc-timeout", in: fields) == nil)
        #expect(value("grpc-encoding", in: fields) == nil)
        #expect(value("te", in: fields) == "trailers")
    }

    @Test("grpc-status 0 in the trailers is success; trailing metadata is kept by finalStatus")
    func ok() {
        let trailers = [HeaderField("grpc-status", "0"), HeaderField("x-cost", "3")]
        #expect(ClientHeaders.status(fromTrailers: trailers, responseHead: [HeaderField(":status", "200")]) == nil)
        #expect(
            ClientHeaders.finalStatus(fromTrailers: trailers, responseHead: nil)
                == RPCError(.ok, "", metadata: ["x-cost": "3"]))
    }

    @Test("an error status carries the decoded message and the trailers' custom metadata")
    func errorStatus() {
        let trailers = [
            HeaderField("grpc-status", "3"), HeaderField("grpc-message", "bad%20field %E2%98%BA"),
            HeaderField("grpc-status-details-bin", "CAM"), HeaderField("x-field", "grantee"),
        ]
        let error = ClientHeaders.status(fromTrailers: trailers, responseHead: [HeaderField(":status", "200")])
        #expect(
            error
                == RPCError(
                    .invalidArgument, "bad field ☺",
                    metadata: ["grpc-status-details-bin": .binary([0x08, 0x03]), "x-field": "grantee"]))
    }

    @Test("Trailers-Only: the status is read from the response head when the trailers are empty")
    func trailersOnlyHead() {
        let head = [
            HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-status", "12"), HeaderField("grpc-message", "unknown method"), HeaderField("x-a", "b"),
        ]
        #expect(ClientHeaders.isTrailersOnly(head))
        #expect(
            ClientHeaders.status(fromTrailers: [], responseHead: head)
                == RPCError(.unimplemented, "unknown method", metadata: ["x-a": "b"]))
    }

    @Test(
        "a grpc-status that is not 0-16 is UNKNOWN",
        arguments: ["17", "-1", "99999999999999999999", "OK", "", "1a", "+3"])
    func invalidStatus(status: String) {
        let error = ClientHeaders.status(fromTrailers: [HeaderField("grpc-status", status)], responseHead: nil)
        #expect(error?.code == .unknown)
        #expect(error?.message.contains("invalid grpc-status") == true)
        let withMessage = ClientHeaders.status(
            fromTrailers: [HeaderField("grpc-status", status), HeaderField("grpc-message", "boom")], responseHead: nil)
        #expect(withMessage == RPCError(.unknown, "boom"))
    }

    @Test(
        "without grpc-status, the HTTP status is mapped by http-grpc-status-mapping.md",
        arguments: [
            (400, RPCError.Code.internalError), (401, .unauthenticated), (403, .permissionDenied),
            (404, .unimplemented),
            (429, .unavailable), (431, .internalError), (502, .unavailable), (503, .unavailable), (504, .unavailable),
            (200, .unknown), (500, .unknown), (301, .unknown), (418, .unknown), (405, .unknown), (415, .unknown),
        ])
    func httpMapping(httpStatus: Int, code: RPCError.Code) {
        #expect(HTTPStatusMapping.code(forHTTPStatus: httpStatus) == code)
        let head = [HeaderField(":status", String(httpStatus)), HeaderField("content-type", "text/html")]
        let error = ClientHeaders.status(fromTrailers: [], responseHead: head)
        #expect(error?.code == code)
        // The same when the non-gRPC response is a single header block passed as trailers.
        #expect(ClientHeaders.status(fromTrailers: head, responseHead: nil)?.code == code)
        if httpStatus != 200 { #expect(error?.message.contains(String(httpStatus)) == true) }
    }

    @Test("trailers without grpc-status after a 200 head are UNKNOWN")
    func missingStatus() {
        let error = ClientHeaders.status(
            fromTrailers: [HeaderField("x-a", "b")], responseHead: [HeaderField(":status", "200")])
        #expect(error == RPCError(.unknown, "server closed the stream without grpc-status", metadata: ["x-a": "b"]))
    }

    @Test("a good response head gives the encoding and initial metadata")
    func responseHead() throws {
        let head = ResponseHeaders.initial(encoding: .deflate, metadata: ["x-shard": "7"])
        #expect(!ClientHeaders.isTrailersOnly(head))
        #expect(
            try ClientHeaders.parseResponseHead(head).get()
                == ClientResponseHead(encoding: .deflate, metadata: ["x-shard": "7"]))
    }

    @Test("a bad response head is the call's status")
    func badResponseHead() {
        let notFound = [HeaderField(":status", "404"), HeaderField("content-type", "text/html")]
        #expect(ClientHeaders.parseResponseHead(notFound).failure?.code == .unimplemented)
        let html = [HeaderField(":status", "200"), HeaderField("content-type", "text/html")]
        #expect(ClientHeaders.parseResponseHead(html).failure?.code == .unknown)
        let snappy = [
            HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-encoding", "snappy"),
        ]
        // compression.md: a server's unsupported compression is INTERNAL on the client.
        #expect(ClientHeaders.parseResponseHead(snappy).failure?.code == .internalError)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
