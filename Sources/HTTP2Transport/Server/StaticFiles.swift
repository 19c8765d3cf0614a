import COpenSSL
import GRPCProtocol
import Glibc

/// One file a server answers GET and HEAD with: its bytes, their type, a strong ETag and, for text worth
/// compressing, a gzip copy made once.
public struct StaticFile: Sendable, Hashable {
    /// The content-type header value (text types with "; charset=utf-8").
    public let contentType: String
    /// The file's bytes.
    public let body: [UInt8]
    /// The bytes gzip-compressed, when the type is text and compression saves something.
    public let gzippedBody: [UInt8]?
    /// Strong ETag of `body`: the quoted hex SHA-256 (the gzip copy's tag adds "-gzip", as a strong validator
    /// must differ between representations, RFC 9110 §8.8.1).
    public let etag: String

    /// A file at `path` (its extension picks the content-type) holding `body`.
    public init(path: String, body: [UInt8]) {
        self.body = body
        self.contentType = Self.contentType(forPath: path)
        let digest = Self.sha256Hex(body)
        self.etag = "\"\(digest)\""
        if Self.isCompressible(contentType), body.count > 256 {
            let gzipped = MessageCompressor.compress(body, encoding: .gzip)
            self.gzippedBody = gzipped.count < body.count ? gzipped : nil
        } else {
            self.gzippedBody = nil
        }
    }

    /// The ETag of the gzip copy.
    public var gzipETag: String { "\"\(etag.dropFirst().dropLast())-gzip\"" }

    /// The content-type for a file name by its extension; unknown ones are application/octet-stream.
    public static func contentType(forPath path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let suffix = name.split(separator: ".").count > 1 ? String(name.split(separator: ".").last!).lowercased() : ""
        switch suffix {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json; charset=utf-8"
        case "webmanifest": return "application/manifest+json; charset=utf-8"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml; charset=utf-8"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "wasm": return "application/wasm"
        default: return "application/octet-stream"
        }
    }

    private static func isCompressible(_ contentType: String) -> Bool {
        contentType.hasPrefix("text/") || contentType.hasPrefix("application/json")
            || contentType.hasPrefix("application/manifest+json") || contentType.hasPrefix("image/svg+xml")
    }

    private static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1 && length == 32, "SHA-256 failed")
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Where a server finds the static file for a request path ("/app.js"; "/" is asked for as "/index.html").
public protocol StaticFileSource: Sendable {
    /// The file at `path` (starting with "/", no query, no ".." segments), or nil.
    func file(atPath path: String) -> StaticFile?
}

/// Files held in memory, built once (hashes and gzip copies made at start-up): what a server embeds.
public struct StaticFileTable: StaticFileSource, Sendable {
    /// The files by path ("/index.html").
    public let files: [String: StaticFile]

    /// A table of `contents`, keyed by path relative to the site root ("index.html", "src/keys.js"; a leading
    /// "/" is accepted).
    public init(contents: [String: [UInt8]]) {
        var files: [String: StaticFile] = [:]
        for (path, body) in contents {
            let rooted = path.hasPrefix("/") ? path : "/" + path
            files[rooted] = StaticFile(path: rooted, body: body)
        }
        self.files = files
    }

    /// The file at `path`, or nil.
    public func file(atPath path: String) -> StaticFile? { files[path] }
}

/// Files read from a folder on every request, so a page can be edited without restarting the server. For
/// development: each request reads, hashes and compresses the file on the loop thread that serves it.
public struct StaticFileDirectory: StaticFileSource, Sendable {
    /// The folder paths are resolved in.
    public let root: String

    /// Serves the files under `root`.
    public init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The file at `path` under the root, read now; nil when it is missing, not a regular file, or hidden
    /// (a segment starting with ".").
    public func file(atPath path: String) -> StaticFile? {
        guard path.split(separator: "/").allSatisfy({ !$0.hasPrefix(".") }) else { return nil }
        let fd = open(root + path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            body.append(contentsOf: chunk[0..<count])
        }
        return StaticFile(path: path, body: body)
    }
}

/// A complete HTTP response without gRPC: status, head and body (empty for HEAD, 204 and 304).
public struct PlainHTTPResponse: Sendable, Hashable {
    /// The HTTP status.
    public var status: Int
    /// The header fields after :status.
    public var headers: [HeaderField]
    /// The body.
    public var body: [UInt8]

    /// A response from its parts.
    public init(status: Int, headers: [HeaderField], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The header block to submit: ":status" first.
    public var headerBlock: [HeaderField] { [HeaderField(":status", String(status))] + headers }
}

/// Answers the requests a gRPC server gets that are not gRPC: static files for GET and HEAD, CORS preflights
/// for OPTIONS, 405 for other methods. Pure: the connection passes the request's fields and submits the answer.
public struct PlainHTTPResponder: Sendable {
    /// The content security policy of every static response: the page loads only its own scripts, styles and
    /// connections, embeds nothing and cannot be framed.
    public static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    /// The headers every static response carries beside its content-type.
    public static let securityHeaders = [
        HeaderField("cache-control", "no-cache"), HeaderField("x-content-type-options", "nosniff"),
        HeaderField("referrer-policy", "no-referrer"), HeaderField("content-security-policy", contentSecurityPolicy),
    ]

    /// The files GET and HEAD are answered from; nil: none (such requests keep gRPC's 405).
    public let files: (any StaticFileSource)?
    /// The CORS policy for OPTIONS preflights.
    public let cors: GRPCWebCORS

    /// A responder for `files` and `cors`.
    public init(files: (any StaticFileSource)?, cors: GRPCWebCORS) {
        self.files = files
        self.cors = cors
    }

    /// Whether this responder answers anything (otherwise the server keeps its gRPC-only answers).
    public var isEnabled: Bool { files != nil || cors.isEnabled }

    /// The answer to a request with these fields, or nil when it is the gRPC path's to answer (POST, and
    /// methods this responder is not configured for).
    public func respond(to headers: [HeaderField]) -> PlainHTTPResponse? {
        var method: String?
        var path: String?
        var ifNoneMatch: String?
        var acceptEncoding: [String] = []
        var origin: String?
        var requestMethod: String?
        var requestHeaders: String?
        for field in headers {
            switch field.name {
            case ":method": method = field.value
            case ":path": path = field.value
            case "if-none-match": ifNoneMatch = field.value
            case "accept-encoding": acceptEncoding.append(field.value)
            case "origin": origin = field.value
            case "access-control-request-method": requestMethod = field.value
            case "access-control-request-headers": requestHeaders = field.value
            default: break
            }
        }
        guard let method, method != "POST" else { return nil }
        switch method {
        case "GET", "HEAD":
            guard let files else { return nil }
            return serveFile(
                files, path: path ?? "/", head: method == "HEAD", ifNoneMatch: ifNoneMatch,
                acceptsGzip: Self.acceptsGzip(acceptEncoding))
        case "OPTIONS":
            guard cors.isEnabled else { return files == nil ? nil : methodNotAllowed(method) }
            switch cors.preflight(origin: origin, requestMethod: requestMethod, requestHeaders: requestHeaders) {
            case .allowed(let fields):
                return PlainHTTPResponse(status: 204, headers: fields)
            case .refused(let reason):
                return text(403, reason)
            }
        default:
            return files == nil ? nil : methodNotAllowed(method)
        }
    }

    private var allowedMethods: String { cors.isEnabled ? "GET, HEAD, POST, OPTIONS" : "GET, HEAD, POST" }

    private func methodNotAllowed(_ method: String) -> PlainHTTPResponse {
        var response = text(405, "method \(method) is not allowed")
        response.headers.append(HeaderField("allow", allowedMethods))
        return response
    }

    private func serveFile(
        _ files: any StaticFileSource, path rawPath: String, head: Bool, ifNoneMatch: String?, acceptsGzip: Bool
    ) -> PlainHTTPResponse {
        var path = rawPath
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<query]) }
        guard path.hasPrefix("/"), !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            return text(400, "bad path", head: head)
        }
        if path.hasSuffix("/") { path += "index.html" }
        guard let file = files.file(atPath: path) else { return text(404, "not found: \(path)", head: head) }
        let gzipped = acceptsGzip ? file.gzippedBody : nil
        let etag = gzipped == nil ? file.etag : file.gzipETag
        var headers = [HeaderField("content-type", file.contentType), HeaderField("etag", etag)]
        if file.gzippedBody != nil { headers.append(HeaderField("vary", "accept-encoding")) }
        headers += Self.securityHeaders
        if let ifNoneMatch, Self.matches(ifNoneMatch, etag: etag) {
            return PlainHTTPResponse(status: 304, headers: headers)
        }
        let body = gzipped ?? file.body
        if gzipped != nil { headers.append(HeaderField("content-encoding", "gzip")) }
        headers.append(HeaderField("content-length", String(body.count)))
        return PlainHTTPResponse(status: 200, headers: headers, body: head ? [] : body)
    }

    private func text(_ status: Int, _ message: String, head: Bool = false) -> PlainHTTPResponse {
        let body = Array((message + "\n").utf8)
        let headers =
            [HeaderField("content-type", "text/plain; charset=utf-8")] + Self.securityHeaders
            + [HeaderField("content-length", String(body.count))]
        return PlainHTTPResponse(status: status, headers: headers, body: head ? [] : body)
    }

    /// Whether an If-None-Match value names `etag` (weak comparison, RFC 9110 §13.1.2) or is "*".
    static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        for candidate in ifNoneMatch.split(separator: ",") {
            var tag = Substring(candidate.drop(while: { $0 == " " || $0 == "\t" }))
            while tag.last == " " || tag.last == "\t" { tag = tag.dropLast() }
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag == etag { return true }
        }
        return false
    }

    /// Whether Accept-Encoding values accept gzip (listed without q=0; "*" counts).
    static func acceptsGzip(_ values: [String]) -> Bool {
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { part in
                    String(part.filter { $0 != " " && $0 != "\t" }).lowercased()
                }
                guard let coding = parts.first, coding == "gzip" || coding == "*" else { continue }
                let refused = parts.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
                if !refused { return true }
            }
        }
        return false
    }
}
