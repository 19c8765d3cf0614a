import Foundation
import GRPCProtocol
import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// A byte-level service for gRPC-Web calls: echo with metadata, collect a client stream, a server stream that
/// waits for the client to have seen its first message, and failures before and after a message.
struct WebProbeService: Sendable {
    /// Opened by the test once the first streamed message has arrived at the client.
    let gate = AsyncStream<Void>.makeStream()

    var definition: ServiceDefinition {
        let gate = self.gate.stream
        func method(
            _ name: String, _ kind: RPCKind,
            _ body: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>) async throws -> Void
        ) -> ServerMethod {
            ServerMethod(descriptor: MethodDescriptor(service: "web.Probe", method: name, kind: kind)) {
                requests, writer, _ in
                try await body(requests, writer)
            }
        }
        return ServiceDefinition(
            name: "web.Probe",
            methods: [
                method("Echo", .unary) { requests, writer in
                    var received: [UInt8] = []
                    for try await request in requests { received = request }
                    ServerCallResponse.current?.addInitialMetadata(["x-initial": "hello"])
                    ServerCallResponse.current?.addTrailingMetadata(["x-trailing": "bye"])
                    try await writer.write(received)
                },
                method("Collect", .clientStreaming) { requests, writer in
                    var parts: [String] = []
                    for try await request in requests { parts.append(String(decoding: request, as: UTF8.self)) }
                    try await writer.write(Array(parts.joined(separator: ",").utf8))
                },
                method("Stream", .serverStreaming) { requests, writer in
                    for try await _ in requests {}
                    try await writer.write(Array("first".utf8))
                    // Only a client that received "first" while the call was open can let this go on.
                    for await _ in gate { break }
                    try await writer.write(Array("second".utf8))
                },
                method("Fail", .unary) { requests, _ in
                    for try await _ in requests {}
                    throw RPCError(
                        .permissionDenied, "no grant for labs: 100% denied",
                        metadata: ["x-reason": "revoked", "x-detail-bin": .binary([1, 2, 3])])
                },
                method("Partial", .serverStreaming) { requests, writer in
                    for try await _ in requests {}
                    try await writer.write(Array("part".utf8))
                    throw RPCError(.dataLoss, "lost the rest")
                },
            ])
    }
}

/// A server with the probe service, static files and CORS for one origin, on an ephemeral h2c port.
struct WebTestServer {
    let server: GRPCServer
    let probe: WebProbeService
    let port: Int

    static let page = Array("<!doctype html><title>dashboard</title>\n".utf8)

    static func start() throws -> WebTestServer {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.staticFiles = StaticFileTable(contents: [
            "index.html": page, "lib/grpc-web.js": Array("export const x = 1;\n".utf8),
        ])
        configuration.webAllowedOrigins = ["https://clinic.example"]
        let probe = WebProbeService()
        let server = GRPCServer(configuration: configuration, services: [probe.definition])
        return WebTestServer(server: server, probe: probe, port: try server.start())
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// A gRPC-Web POST of `body` to `path` in `format`.
    func call(
        _ path: String, body: [UInt8]?, format: GRPCWebFormat = .binary, headers: [String] = [],
        onBody: (@Sendable ([UInt8]) -> Void)? = nil
    ) async throws -> CurlResponse {
        let contentType = format == .binary ? "application/grpc-web+proto" : "application/grpc-web-text"
        var arguments = ["-X", "POST", "-H", "content-type: \(contentType)", "-H", "x-grpc-web: 1"]
        for header in headers { arguments += ["-H", header] }
        return try await Curl.run(url(path), arguments, body: body, onBody: onBody)
    }

    func stop() async { await server.shutdown(gracePeriod: .seconds(1)) }
}

@Suite("gRPC-Web and static files over a real server (curl as the client)", .enabled(if: Curl.isAvailable))
struct GRPCWebTransportTests {
    @Test("a unary call: 200, gRPC-Web content type, metadata as headers, the message, then one trailer frame")
    func unary() async throws {
        let server = try WebTestServer.start()
        let response = try await server.call("/web.Probe/Echo", body: webFrames([Array("ping".utf8)]))
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/grpc-web+proto")
        #expect(response.header("x-initial") == "hello")
        // The status travels in the body, not in HTTP/2 trailers (which curl would dump with the headers).
        #expect(response.header("grpc-status") == nil)
        let body = try #require(WebBody(binary: response.body))
        #expect(body.messages == [Array("ping".utf8)])
        #expect(body.trailers["grpc-status"] == "0")
        #expect(body.trailers["x-trailing"] == "bye")
        #expect(body.trailerFrames == 1 && !body.framesAfterTrailers)
        await server.stop()
    }

    @Test("client streaming: several frames in one request body reach the handler in order")
    func clientStreaming() async throws {
        let server = try WebTestServer.start()
        let response = try await server.call(
            "/web.Probe/Collect", body: webFrames([Array("a".utf8), Array("bb".utf8), [], Array("c".utf8)]))
        let body = try #require(WebBody(binary: response.body))
        #expect(body.messages == [Array("a,bb,,c".utf8)])
        #expect(body.trailers["grpc-status"] == "0")
        await server.stop()
    }

    @Test(
        "server streaming is live: the first message reaches the client while the call is still open",
        .timeLimit(.minutes(1)), arguments: [GRPCWebFormat.binary, .text])
    func serverStreamingIsLive(format: GRPCWebFormat) async throws {
        let server = try WebTestServer.start()
        let gate = server.probe.gate.continuation
        let firstSeen = Mutex(false)
        let request = format == .binary ? webFrames([[]]) : base64Text(webFrames([[]]))
        let response = try await server.call("/web.Probe/Stream", body: request, format: format) { received in
            let parsed = format == .binary ? WebBody(binary: received) : WebBody(text: received)
            if parsed?.messages.first == Array("first".utf8) {
                // The handler writes "second" only after this: the stream would hang had "first" been held back.
                firstSeen.withLock { $0 = true }
                gate.yield()
            }
        }
        #expect(firstSeen.withLock { $0 })
        let body = try #require(format == .binary ? WebBody(binary: response.body) : WebBody(text: response.body))
        #expect(body.messages == [Array("first".utf8), Array("second".utf8)])
        #expect(body.trailers["grpc-status"] == "0")
        await server.stop()
    }

    @Test("the text format both ways: base64 request in two padded chunks, base64 response")
    func textBothWays() async throws {
        let server = try WebTestServer.start()
        let frame = webFrames([Array("hello, text".utf8)])
        let request = base64Text(Array(frame[0..<4])) + base64Text(Array(frame[4...]))
        let response = try await server.call("/web.Probe/Echo", body: request, format: .text)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/grpc-web-text+proto")
        let body = try #require(WebBody(text: response.body))
        #expect(body.messages == [Array("hello, text".utf8)])
        #expect(body.trailers["grpc-status"] == "0")
        await server.stop()
    }

    @Test(
        "large messages cross flow-control windows in both formats (text: 16 KiB chunks, none cut mid-quantum)",
        arguments: [GRPCWebFormat.binary, .text])
    func largeMessages(format: GRPCWebFormat) async throws {
        let server = try WebTestServer.start()
        // Letters, so the probe's text join keeps every byte.
        let message = (0..<300_000).map { UInt8(ascii: "a") + UInt8(($0 &* 7 &+ $0 >> 8) % 26) }
        let frames = webFrames([message, Array(message.prefix(70_001))])
        let response = try await server.call(
            "/web.Probe/Collect", body: format == .binary ? frames : base64Text(frames), format: format)
        let body = try #require(format == .binary ? WebBody(binary: response.body) : WebBody(text: response.body))
        #expect(body.messages == [message + [UInt8(ascii: ",")] + message.prefix(70_001)])
        #expect(body.trailers["grpc-status"] == "0")
        await server.stop()
    }

    @Test("a text body that is not base64 fails the call with INTERNAL in the trailer frame")
    func badText() async throws {
        let server = try WebTestServer.start()
        let response = try await server.call("/web.Probe/Echo", body: Array("AAA*AAAA".utf8), format: .text)
        let body = try #require(WebBody(text: response.body))
        #expect(body.trailers["grpc-status"] == "13")
        await server.stop()
    }

    @Test("an unknown method is UNIMPLEMENTED in a trailer frame the browser can read")
    func unknownMethod() async throws {
        let server = try WebTestServer.start()
        // No body: the refusal goes out when the headers arrive, and the reset that follows (RFC 9113 §8.1) would
        // race a body still being sent, which curl reports as a failed transfer.
        let response = try await server.call("/web.Probe/Nope", body: nil)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/grpc-web+proto")
        let body = try #require(WebBody(binary: response.body))
        #expect(body.messages.isEmpty)
        #expect(body.trailers["grpc-status"] == "12")
        await server.stop()
    }

    @Test("a handler error before any message: status, percent-encoded message and metadata in the trailer frame")
    func handlerError() async throws {
        let server = try WebTestServer.start()
        let response = try await server.call("/web.Probe/Fail", body: webFrames([[]]))
        let body = try #require(WebBody(binary: response.body))
        #expect(body.messages.isEmpty)
        #expect(body.trailers["grpc-status"] == "7")
        #expect(body.trailers["grpc-message"].map(GRPCStatusMessage.decode) == "no grant for labs: 100% denied")
        #expect(body.trailers["x-reason"] == "revoked")
        #expect(body.trailers["x-detail-bin"] == "AQID")
        await server.stop()
    }

    @Test("a handler error after a message: the message, then the error's trailer frame")
    func errorAfterMessage() async throws {
        let server = try WebTestServer.start()
        let response = try await server.call("/web.Probe/Partial", body: base64Text(webFrames([[]])), format: .text)
        let body = try #require(WebBody(text: response.body))
        #expect(body.messages == [Array("part".utf8)])
        #expect(body.trailers["grpc-status"] == "15")
        await server.stop()
    }

    @Test("a call from an allowed origin gets CORS headers; from another origin none")
    func corsHeaders() async throws {
        let server = try WebTestServer.start()
        let allowed = try await server.call(
            "/web.Probe/Echo", body: webFrames([[]]), headers: ["origin: https://clinic.example"])
        #expect(allowed.header("access-control-allow-origin") == "https://clinic.example")
        #expect(allowed.header("access-control-expose-headers")?.contains("grpc-status") == true)
        #expect(allowed.header("access-control-expose-headers")?.contains("x-initial") == true)
        let other = try await server.call(
            "/web.Probe/Echo", body: webFrames([[]]), headers: ["origin: https://evil.example"])
        #expect(other.header("access-control-allow-origin") == nil)
        let preflight = try await Curl.run(
            server.url("/web.Probe/Echo"),
            [
                "-X", "OPTIONS", "-H", "origin: https://clinic.example", "-H", "access-control-request-method: POST",
                "-H", "access-control-request-headers: content-type,x-grpc-web",
            ])
        #expect(preflight.status == 204)
        #expect(preflight.header("access-control-allow-origin") == "https://clinic.example")
        await server.stop()
    }

    @Test("static files: GET /, HEAD, 304 on the ETag, 404, 405 with allow, and POST text/plain stays 415")
    func staticFiles() async throws {
        let server = try WebTestServer.start()
        let root = try await Curl.run(server.url("/"))
        #expect(root.status == 200)
        #expect(root.body == WebTestServer.page)
        #expect(root.header("content-type") == "text/html; charset=utf-8")
        #expect(root.header("content-security-policy") == PlainHTTPResponder.contentSecurityPolicy)
        let etag = try #require(root.header("etag"))
        let script = try await Curl.run(server.url("/lib/grpc-web.js"))
        #expect(script.header("content-type") == "text/javascript; charset=utf-8")
        // curl -I prints the head where the body would go, so the body is checked by the absence of the page.
        let head = try await Curl.run(server.url("/"), ["-I"])
        #expect(head.status == 200)
        #expect(!String(decoding: head.body, as: UTF8.self).contains("<title>"))
        #expect(head.header("content-length") == String(WebTestServer.page.count))
        let notModified = try await Curl.run(server.url("/index.html"), ["-H", "if-none-match: \(etag)"])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        let missing = try await Curl.run(server.url("/missing.js"))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("not found"))
        let put = try await Curl.run(server.url("/"), ["-X", "PUT"])
        #expect(put.status == 405)
        #expect(put.header("allow")?.contains("GET") == true)
        // Without a body: the 415 ends the stream at once, which a client still sending a body sees as a reset.
        let post = try await Curl.run(server.url("/"), ["-X", "POST", "-H", "content-type: text/plain"])
        #expect(post.status == 415)
        await server.stop()
    }
}
