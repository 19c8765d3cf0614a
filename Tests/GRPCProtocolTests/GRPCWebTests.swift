import Foundation
import GRPCProtocol
import RPCCore
import Testing

@Suite("gRPC-Web: content types")
struct GRPCWebContentTypeTests {
    @Test(
        "the four gRPC-Web content types are recognised, with parameters and in any case",
        arguments: [
            ("application/grpc-web", GRPCWebFormat.binary), ("application/grpc-web+proto", .binary),
            ("Application/GRPC-Web+Proto; charset=utf-8", .binary), ("application/grpc-web-text", .text),
            ("application/grpc-web-text+proto", .text), ("application/grpc-web-text ; x=y", .text),
        ])
    func recognised(contentType: String, format: GRPCWebFormat) {
        #expect(GRPCWebContentType.format(of: contentType) == format)
    }

    @Test(
        "other content types are not gRPC-Web",
        arguments: [
            "application/grpc", "application/grpc+proto", "application/grpc-web+json", "application/grpc-webx",
            "application/grpc-web-text+json", "text/plain", "",
        ])
    func notRecognised(contentType: String) {
        #expect(GRPCWebContentType.format(of: contentType) == nil)
    }

    @Test("a gRPC-Web request without te parses, carrying its format; gRPC requests carry none")
    func requestHead() throws {
        let web: [HeaderField] = [
            HeaderField(":method", "POST"), HeaderField(":scheme", "https"), HeaderField(":path", "/a.B/C"),
            HeaderField("content-type", "application/grpc-web-text"), HeaderField("x-grpc-web", "1"),
        ]
        #expect(try RequestHead.parse(web).get().webFormat == .text)
        var grpc = web
        grpc[3] = HeaderField("content-type", "application/grpc")
        #expect(try RequestHead.parse(grpc).get().webFormat == nil)
    }

    @Test("responses carry the +proto content type of the request's format")
    func responseContentType() {
        #expect(GRPCWebFormat.binary.responseContentType == "application/grpc-web+proto")
        #expect(GRPCWebFormat.text.responseContentType == "application/grpc-web-text+proto")
    }
}

@Suite("gRPC-Web: trailer frames")
struct GRPCWebTrailersTests {
    @Test("an OK trailer frame is flag 0x80, a big-endian length and grpc-status:0 CRLF")
    func okFrame() {
        let frame = GRPCWebTrailers.frame(status: .ok, message: "", metadata: [:])
        let block = Array("grpc-status:0\r\n".utf8)
        #expect(frame == [0x80, 0, 0, 0, UInt8(block.count)] + block)
    }

    @Test("a failure carries the percent-encoded message and the metadata, names lower-case, binary as base64")
    func failureFrame() {
        let metadata: Metadata = ["x-reason": "revoked", "x-detail-bin": .binary([0xff, 0x00])]
        let frame = GRPCWebTrailers.frame(
            status: .permissionDenied, message: "no grant: 100% denied", metadata: metadata)
        #expect(frame[0] == 0x80)
        let length = Int(frame[1]) << 24 | Int(frame[2]) << 16 | Int(frame[3]) << 8 | Int(frame[4])
        #expect(length == frame.count - 5)
        let text = String(decoding: frame.dropFirst(5), as: UTF8.self)
        #expect(
            text == "grpc-status:7\r\ngrpc-message:no grant: 100%25 denied\r\nx-reason:revoked\r\nx-detail-bin:/wA=\r\n"
        )
        let fields = GRPCWebTrailers.parse(Array(frame.dropFirst(5)))
        #expect(fields?.first(where: { $0.name == "grpc-status" })?.value == "7")
        #expect(fields?.first(where: { $0.name == "x-reason" })?.value == "revoked")
    }

    @Test("parsing lower-cases names, trims values and refuses a line without a colon")
    func parsing() {
        #expect(
            GRPCWebTrailers.parse(Array("Grpc-Status: 0\r\nGrpc-Message: fine \r\n".utf8)) == [
                HeaderField("grpc-status", "0"), HeaderField("grpc-message", "fine"),
            ])
        #expect(GRPCWebTrailers.parse(Array("grpc-status 0\r\n".utf8)) == nil)
    }

    @Test("the web response head has status 200, the gRPC-Web content type, encodings and metadata")
    func responseHead() {
        let head = GRPCWebResponseHeaders.initial(format: .text, encoding: .gzip, metadata: ["x-a": "b"])
        #expect(head.first == HeaderField(":status", "200"))
        #expect(head.contains(HeaderField("content-type", "application/grpc-web-text+proto")))
        #expect(head.contains(HeaderField("grpc-encoding", "gzip")))
        #expect(head.contains(HeaderField("x-a", "b")))
        #expect(!head.contains { $0.name == "grpc-status" })
    }
}

@Suite("gRPC-Web: text (base64) bodies")
struct GRPCWebTextTests {
    static func foundationBase64(_ bytes: [UInt8]) -> [UInt8] { Array(Data(bytes).base64EncodedString().utf8) }

    @Test("encoding matches Foundation's padded base64 for every length 0 to 20")
    func encoding() {
        for length in 0...20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(GRPCWebText.encode(bytes) == Self.foundationBase64(bytes), "length \(length)")
        }
    }

    @Test("several padded chunks back to back decode to the bytes of all of them")
    func concatenatedChunks() throws {
        let parts: [[UInt8]] = [[1], [2, 3], [4, 5, 6], [], [7, 8, 9, 10]]
        let text = parts.flatMap(Self.foundationBase64)
        #expect(try GRPCWebTextDecoder.decode(text) == parts.flatMap { $0 })
    }

    @Test("a body cut anywhere decodes the same as whole, and says when it stops inside a quantum")
    func incremental() throws {
        var generator = SeededGenerator(seed: 7)
        let parts: [[UInt8]] = (0..<6).map { index in
            (0..<(index * 5 + 1)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        let text = parts.flatMap(Self.foundationBase64)
        for _ in 0..<50 {
            var decoder = GRPCWebTextDecoder()
            var output: [UInt8] = []
            var offset = 0
            while offset < text.count {
                let end = min(text.count, offset + Int.random(in: 1...9, using: &generator))
                try text[offset..<end].withUnsafeBytes { try decoder.decode($0, into: &output) }
                #expect(decoder.hasPartialQuantum == ((end - 0) % 4 != 0))
                offset = end
            }
            #expect(output == parts.flatMap { $0 })
        }
    }

    @Test(
        "text that is not base64 is INTERNAL naming the offence",
        arguments: ["AB*D", "A=BC", "AB=C", "QQ==QQ=A", "\u{00e9}AAA"])
    func invalid(text: String) {
        #expect(throws: RPCError.self) { try GRPCWebTextDecoder.decode(Array(text.utf8)) }
        do {
            _ = try GRPCWebTextDecoder.decode(Array(text.utf8))
        } catch {
            #expect(error.code == .internalError)
            #expect(error.message.contains("not base64"))
        }
    }

    @Test("a body ending inside a quantum is refused")
    func truncated() {
        #expect(throws: RPCError.self) { try GRPCWebTextDecoder.decode(Array("QUJD QQ".utf8.filter { $0 != 32 })) }
    }
}

@Suite("gRPC-Web: CORS decisions")
struct GRPCWebCORSTests {
    let cors = GRPCWebCORS(allowedOrigins: ["https://Clinic.example:8443/", "http://localhost:5173"])

    @Test("origins are normalised; paths, queries, user info and wildcards are no origins")
    func normalisation() {
        #expect(GRPCWebCORS.normalizedOrigin("HTTPS://Example.org/") == "https://example.org")
        for bad in ["https://example.org/app", "example.org", "*", "https://a@b", "ftp://x", "https://", "https://x?y"]
        {
            #expect(GRPCWebCORS.normalizedOrigin(bad) == nil, "\(bad)")
        }
    }

    @Test("with no origins configured CORS is off and no response gets CORS headers")
    func off() {
        let none = GRPCWebCORS(allowedOrigins: [])
        #expect(!none.isEnabled)
        #expect(none.responseHeaders(origin: "https://clinic.example:8443").isEmpty)
    }

    @Test("a preflight from an allowed origin for POST is allowed with the gRPC-Web headers and requested ones")
    func preflightAllowed() {
        let answer = cors.preflight(
            origin: "https://clinic.example:8443", requestMethod: "POST",
            requestHeaders: "content-type, x-grpc-web, X-Custom-Token")
        guard case .allowed(let fields) = answer else {
            Issue.record("expected allowed, got \(answer)")
            return
        }
        #expect(fields.contains(HeaderField("access-control-allow-origin", "https://clinic.example:8443")))
        #expect(fields.contains(HeaderField("access-control-allow-methods", "POST")))
        let allowed = fields.first { $0.name == "access-control-allow-headers" }?.value ?? ""
        for name in ["authorization", "grpc-timeout", "x-grpc-web", "x-custom-token"] {
            #expect(allowed.contains(name), "\(name)")
        }
        #expect(fields.contains(HeaderField("vary", "origin")))
    }

    @Test("a preflight from another origin, for another method, or without its fields is refused")
    func preflightRefused() {
        let cases: [(String?, String?, String?)] = [
            ("https://evil.example", "POST", nil), ("https://clinic.example:8443", "PUT", nil),
            (nil, "POST", nil), ("https://clinic.example:8443", nil, nil),
            ("https://clinic.example:8443", "POST", "bad header"),
        ]
        for (origin, method, headers) in cases {
            guard case .refused = cors.preflight(origin: origin, requestMethod: method, requestHeaders: headers) else {
                Issue.record("expected refusal for \(String(describing: origin)) \(String(describing: method))")
                continue
            }
        }
    }

    @Test("responses to an allowed origin expose the status headers and the response's metadata names")
    func responseHeaders() {
        let fields = cors.responseHeaders(origin: "http://localhost:5173", metadataNames: ["x-session"])
        #expect(fields.contains(HeaderField("access-control-allow-origin", "http://localhost:5173")))
        let exposed = fields.first { $0.name == "access-control-expose-headers" }?.value ?? ""
        #expect(exposed.hasPrefix("grpc-status, grpc-message"))
        #expect(exposed.contains("x-session"))
        #expect(cors.responseHeaders(origin: "https://evil.example").isEmpty)
        #expect(cors.responseHeaders(origin: nil).isEmpty)
    }
}
