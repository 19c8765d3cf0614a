import GRPCProtocol
import RPCCore
import Testing

/// Request-Headers as a server receives them (PROTOCOL-HTTP2.md, "Requests"; compression.md).
@Suite("Request head")
struct RequestHeadTests {
    static let valid = [
        HeaderField(":method", "POST"), HeaderField(":scheme", "http"),
        HeaderField(":path", "/healthledger.v1.Ledger/Grant"), HeaderField(":authority", "ledger.example:443"),
        HeaderField("grpc-timeout", "1S"), HeaderField("content-type", "application/grpc+proto"),
        HeaderField("te", "trailers"), HeaderField("grpc-encoding", "gzip"),
        HeaderField("grpc-accept-encoding", "gzip, snappy,identity"), HeaderField("user-agent", "grpc-go/1.64.0"),
        HeaderField("authorization", "Bearer y235"), HeaderField("trace-proto-bin", "AAEC"),
    ]

    static func replacing(_ name: String, with value: String?, in fields: [HeaderField] = valid) -> [HeaderField] {
        var fields = fields.filter { $0.name != name }
        if let value { fields.append(HeaderField(name, value)) }
        return fields
    }

    @Test("given the spec's sample request, every field is parsed")
    func sampleRequest() throws {
        let head = try RequestHead.parse(Self.valid).get()
        #expect(head.path == "/healthledger.v1.Ledger/Grant")
        #expect(head.authority == "ledger.example:443")
        #expect(head.timeout == .seconds(1))
        #expect(head.encoding == .gzip)
        #expect(head.acceptEncodings == [.gzip, .identity])
        #expect(head.userAgent == "grpc-go/1.64.0")
        #expect(
            head.metadata == [
                "user-agent": "grpc-go/1.64.0", "authorization": "Bearer y235", "trace-proto-bin": .binary([0, 1, 2]),
            ])
    }

    @Test("optional fields default: no deadline, identity, [identity] accepted, no user-agent")
    func minimal() throws {
        let fields = [
            HeaderField(":method", "POST"), HeaderField(":scheme", "https"), HeaderField(":path", "/a.B/C"),
            HeaderField("content-type", "application/grpc"),
        ]
        let head = try RequestHead.parse(fields).get()
        #expect(head == RequestHead(path: "/a.B/C"))
    }

    @Test("host stands in for a missing :authority")
    func hostFallback() throws {
        let fields = Self.replacing(":authority", with: nil) + [HeaderField("host", "legacy.example")]
        #expect(try RequestHead.parse(fields).get().authority == "legacy.example")
    }

    @Test(
        "gRPC content-types are accepted",
        arguments: [
            "application/grpc", "application/grpc+proto", "application/grpc+json", "application/grpc;charset=utf-8",
            "Application/GRPC", "application/grpc+proto; foo=bar",
        ])
    func contentTypes(contentType: String) {
        #expect((try? RequestHead.parse(Self.replacing("content-type", with: contentType)).get()) != nil)
    }

    @Test(
        "other content-types are HTTP 415 with a message naming them",
        arguments: [
            "application/json", "application/grpc-web+json", "application/grpcx", "text/plain", "application/grp", "",
        ])
    func unsupportedMediaType(contentType: String) {
        let result = RequestHead.parse(Self.replacing("content-type", with: contentType))
        guard case .failure(.httpStatus(415, let message)) = result else {
            Issue.record("expected 415, got \(result)")
            return
        }
        #expect(message.contains("'\(contentType)'"))
        #expect(message.contains("application/grpc"))
    }

    @Test("a missing content-type is HTTP 415")
    func missingContentType() {
        guard case .failure(.httpStatus(415, _)) = RequestHead.parse(Self.replacing("content-type", with: nil)) else {
            Issue.record("expected 415")
            return
        }
    }

    @Test("a method other than POST is HTTP 405, checked before the content-type", arguments: ["GET", "PUT", "post"])
    func methodNotAllowed(method: String) {
        let fields = Self.replacing("content-type", with: "text/html", in: Self.replacing(":method", with: method))
        guard case .failure(.httpStatus(405, let message)) = RequestHead.parse(fields) else {
            Issue.record("expected 405")
            return
        }
        #expect(message.contains(method))
    }

    @Test("missing :path, :scheme or :method is HTTP 400", arguments: [":path", ":scheme", ":method"])
    func missingPseudoHeader(name: String) {
        guard case .failure(.httpStatus(400, let message)) = RequestHead.parse(Self.replacing(name, with: nil)) else {
            Issue.record("expected 400")
            return
        }
        #expect(message == "missing \(name)")
    }

    @Test("te may be absent (as grpc-go allows) but must otherwise be \"trailers\"")
    func te() {
        #expect((try? RequestHead.parse(Self.replacing("te", with: nil)).get()) != nil)
        guard case .failure(.httpStatus(400, _)) = RequestHead.parse(Self.replacing("te", with: "gzip")) else {
            Issue.record("expected 400")
            return
        }
    }

    @Test("an unknown grpc-encoding is UNIMPLEMENTED naming it (compression.md)")
    func unknownEncoding() {
        let result = RequestHead.parse(Self.replacing("grpc-encoding", with: "snappy"))
        guard case .failure(.grpcStatus(let error)) = result else {
            Issue.record("expected a gRPC status, got \(result)")
            return
        }
        #expect(error.code == .unimplemented)
        #expect(error.message.hasPrefix("grpc-encoding 'snappy' is not supported"))
        // The server answers Trailers-Only, which lists what it does accept.
        let trailers = ResponseHeaders.trailersOnly(for: error)
        #expect(value("grpc-accept-encoding", in: trailers) == "identity,deflate,gzip")
        #expect(value("grpc-status", in: trailers) == "12")
    }

    @Test("grpc-encoding identity and deflate are known", arguments: ["identity", "deflate", "GZIP"])
    func knownEncodings(value: String) throws {
        let head = try RequestHead.parse(Self.replacing("grpc-encoding", with: value)).get()
        #expect(head.encoding.rawValue == value.lowercased())
    }

    @Test(
        "a malformed grpc-timeout is INTERNAL, as in grpc-core and grpc-go", arguments: ["1", "xS", "123456789S", "1s"])
    func malformedTimeout(timeout: String) {
        let result = RequestHead.parse(Self.replacing("grpc-timeout", with: timeout))
        guard case .failure(.grpcStatus(let error)) = result else {
            Issue.record("expected a gRPC status, got \(result)")
            return
        }
        #expect(error == RPCError(.internalError, "malformed grpc-timeout '\(timeout)'"))
    }
}
