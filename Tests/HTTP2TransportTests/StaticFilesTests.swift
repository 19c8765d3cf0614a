import Foundation
import GRPCProtocol
import HTTP2Transport
import Testing

/// The request fields of a plain HTTP request, as nghttp2 hands them over.
func plainRequest(_ method: String, _ path: String, _ extra: [HeaderField] = []) -> [HeaderField] {
    [HeaderField(":method", method), HeaderField(":scheme", "https"), HeaderField(":path", path)] + extra
}

@Suite("Static files: the table and its answers")
struct StaticFilesTests {
    static let page = Array(String(repeating: "<p>patient dashboard</p>\n", count: 40).utf8)
    static let table = StaticFileTable(contents: [
        "index.html": page, "app.js": Array("export {};\n".utf8), "src/keys.js": Array("// keys\n".utf8),
        "icon.png": [0x89, 0x50, 0x4e, 0x47],
    ])
    let responder = PlainHTTPResponder(files: table, cors: GRPCWebCORS(allowedOrigins: []))

    private func value(_ response: PlainHTTPResponse?, _ name: String) -> String? {
        response?.headers.first { $0.name == name }?.value
    }

    @Test("/ serves index.html with its type, a SHA-256 ETag and the security headers")
    func root() throws {
        let response = try #require(responder.respond(to: plainRequest("GET", "/")))
        #expect(response.status == 200)
        #expect(response.body == Self.page)
        #expect(value(response, "content-type") == "text/html; charset=utf-8")
        let digest = Self.sha256Hex(Self.page)
        #expect(value(response, "etag") == "\"\(digest)\"")
        #expect(value(response, "cache-control") == "no-cache")
        #expect(value(response, "x-content-type-options") == "nosniff")
        #expect(value(response, "referrer-policy") == "no-referrer")
        #expect(value(response, "content-security-policy") == PlainHTTPResponder.contentSecurityPolicy)
        #expect(value(response, "content-length") == String(Self.page.count))
    }

    @Test("each file is found by its path, ignoring a query; types follow the extension")
    func paths() throws {
        let script = try #require(responder.respond(to: plainRequest("GET", "/src/keys.js?v=2")))
        #expect(script.status == 200)
        #expect(value(script, "content-type") == "text/javascript; charset=utf-8")
        let icon = responder.respond(to: plainRequest("GET", "/icon.png"))
        #expect(value(icon, "content-type") == "image/png")
    }

    @Test("HEAD answers the GET head with an empty body")
    func head() throws {
        let get = try #require(responder.respond(to: plainRequest("GET", "/app.js")))
        let head = try #require(responder.respond(to: plainRequest("HEAD", "/app.js")))
        #expect(head.status == 200)
        #expect(head.headers == get.headers)
        #expect(head.body.isEmpty)
    }

    @Test("If-None-Match with the current ETag is 304 without a body; another tag is 200")
    func notModified() throws {
        let first = try #require(responder.respond(to: plainRequest("GET", "/app.js")))
        let etag = try #require(value(first, "etag"))
        let again = responder.respond(
            to: plainRequest("GET", "/app.js", [HeaderField("if-none-match", "\"x\", W/\(etag)")]))
        #expect(again?.status == 304)
        #expect(again?.body.isEmpty == true)
        let changed = responder.respond(to: plainRequest("GET", "/app.js", [HeaderField("if-none-match", "\"other\"")]))
        #expect(changed?.status == 200)
    }

    @Test("gzip is sent when accepted, with its own ETag, and not when refused with q=0")
    func gzip() throws {
        let zipped = try #require(
            responder.respond(to: plainRequest("GET", "/", [HeaderField("accept-encoding", "br, gzip;q=0.8")])))
        #expect(value(zipped, "content-encoding") == "gzip")
        #expect(value(zipped, "vary") == "accept-encoding")
        #expect(zipped.body.count < Self.page.count)
        #expect(try Self.gunzip(zipped.body) == Self.page)
        let plainETag = value(responder.respond(to: plainRequest("GET", "/")), "etag")
        #expect(value(zipped, "etag") != plainETag)
        let refused = responder.respond(to: plainRequest("GET", "/", [HeaderField("accept-encoding", "gzip;q=0")]))
        #expect(value(refused, "content-encoding") == nil)
    }

    @Test("an unknown path is 404 with a short text body; a path climbing out is 400")
    func missing() throws {
        let missing = try #require(responder.respond(to: plainRequest("GET", "/nothing.js")))
        #expect(missing.status == 404)
        #expect(value(missing, "content-type") == "text/plain; charset=utf-8")
        #expect(String(decoding: missing.body, as: UTF8.self).contains("not found"))
        #expect(responder.respond(to: plainRequest("GET", "/../etc/passwd"))?.status == 400)
    }

    @Test("other methods are 405 with allow; POST stays gRPC's to answer (415)")
    func methods() throws {
        let put = try #require(responder.respond(to: plainRequest("PUT", "/")))
        #expect(put.status == 405)
        #expect(value(put, "allow") == "GET, HEAD, POST")
        #expect(responder.respond(to: plainRequest("POST", "/")) == nil)
    }

    @Test("without files or CORS nothing is answered, so gRPC's own answers stand")
    func disabled() {
        let off = PlainHTTPResponder(files: nil, cors: GRPCWebCORS(allowedOrigins: []))
        #expect(!off.isEnabled)
        #expect(off.respond(to: plainRequest("GET", "/")) == nil)
        #expect(off.respond(to: plainRequest("OPTIONS", "/")) == nil)
    }

    @Test("OPTIONS from an allowed origin is a 204 preflight; from another origin 403; without CORS 405")
    func preflight() throws {
        let cors = PlainHTTPResponder(files: Self.table, cors: GRPCWebCORS(allowedOrigins: ["https://clinic.example"]))
        let preflight = [
            HeaderField("origin", "https://clinic.example"), HeaderField("access-control-request-method", "POST"),
        ]
        let allowed = try #require(
            cors.respond(to: plainRequest("OPTIONS", "/healthledger.v1.Ledger/Grant", preflight)))
        #expect(allowed.status == 204)
        #expect(value(allowed, "access-control-allow-origin") == "https://clinic.example")
        let other = [
            HeaderField("origin", "https://evil.example"), HeaderField("access-control-request-method", "POST"),
        ]
        #expect(cors.respond(to: plainRequest("OPTIONS", "/x", other))?.status == 403)
        #expect(responder.respond(to: plainRequest("OPTIONS", "/x", preflight))?.status == 405)
    }

    @Test("a directory source reads files per request and hides dot-files")
    func directory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hl-static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("src"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "one".write(to: root.appendingPathComponent("src/a.js"), atomically: true, encoding: .utf8)
        try "secret".write(to: root.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let source = StaticFileDirectory(root: root.path)
        #expect(source.file(atPath: "/src/a.js")?.body == Array("one".utf8))
        try "two".write(to: root.appendingPathComponent("src/a.js"), atomically: true, encoding: .utf8)
        #expect(source.file(atPath: "/src/a.js")?.body == Array("two".utf8))
        #expect(source.file(atPath: "/.env") == nil)
        #expect(source.file(atPath: "/src") == nil)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}
