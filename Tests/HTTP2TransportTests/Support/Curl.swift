import Foundation
import GRPCProtocol
import Synchronization

/// An HTTP response as curl (an HTTP/2 client independent of ours, built on nghttp2) received it.
struct CurlResponse {
    /// The HTTP status of the final response.
    var status: Int
    /// Header fields (and trailers, which curl also dumps), names lower-cased.
    var headers: [HeaderField]
    /// The body bytes.
    var body: [UInt8]

    /// The first value of the header `name`.
    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}

/// Runs curl over h2c with prior knowledge against a test server.
enum Curl {
    static let executable = "/usr/bin/curl"

    /// Whether curl is installed (tests needing it are skipped otherwise).
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// Requests `url` with `arguments` (method, headers) and `body`; `onBody` sees the body received so far
    /// each time more arrives, before the response ends.
    static func run(
        _ url: String, _ arguments: [String] = [], body: [UInt8]? = nil,
        onBody: (@Sendable ([UInt8]) -> Void)? = nil
    ) async throws -> CurlResponse {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hl-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerFile = directory.appendingPathComponent("headers").path
        var fullArguments = ["-sS", "--http2-prior-knowledge", "-N", "-D", headerFile, "-o", "-"] + arguments
        if let body {
            let bodyFile = directory.appendingPathComponent("body")
            try Data(body).write(to: bodyFile)
            fullArguments += ["--data-binary", "@\(bodyFile.path)"]
        }
        fullArguments.append(url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = fullArguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Reads go to a Dispatch thread: blocking on the cooperative pool would starve the server's handlers.
        let received: [UInt8] = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while true {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    bytes += chunk
                    onBody?(bytes)
                }
                process.waitUntilExit()
                continuation.resume(returning: bytes)
            }
        }
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CurlFailure(description: "curl exited \(process.terminationStatus): \(problems)")
        }
        let dump = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        var status = 0
        var headers: [HeaderField] = []
        for line in dump.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ")[1]) ?? 0
                headers = []
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headers.append(HeaderField(name, value))
            }
        }
        return CurlResponse(status: status, headers: headers, body: received)
    }
}

/// curl failed to complete a request.
struct CurlFailure: Error, CustomStringConvertible {
    var description: String
}

/// A gRPC-Web response body taken apart per PROTOCOL-WEB.md, written separately from the server's encoder.
struct WebBody: Equatable {
    /// The messages, in order.
    var messages: [[UInt8]] = []
    /// The trailer frame's fields ("grpc-status" -> "0"), names lower-cased.
    var trailers: [String: String] = [:]
    /// How many trailer frames there were (exactly one, last, in a correct response).
    var trailerFrames = 0
    /// Whether a frame followed the trailer frame.
    var framesAfterTrailers = false

    /// Parses a binary body; nil when a frame is cut short.
    init?(binary body: [UInt8]) {
        var offset = 0
        while offset < body.count {
            guard body.count - offset >= 5 else { return nil }
            let flag = body[offset]
            let length =
                Int(body[offset + 1]) << 24 | Int(body[offset + 2]) << 16 | Int(body[offset + 3]) << 8
                | Int(body[offset + 4])
            guard body.count - offset - 5 >= length else { return nil }
            let payload = Array(body[(offset + 5)..<(offset + 5 + length)])
            if trailerFrames > 0 { framesAfterTrailers = true }
            if flag & 0x80 != 0 {
                trailerFrames += 1
                for line in String(decoding: payload, as: UTF8.self).components(separatedBy: "\r\n") where !line.isEmpty
                {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    trailers[parts[0].lowercased()] =
                        parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
                }
            } else {
                messages.append(payload)
            }
            offset += 5 + length
        }
    }

    /// Parses a text body: base64 decoded one 4-character quantum at a time with Foundation, so padded chunks may
    /// follow one another.
    init?(text body: [UInt8]) {
        guard body.count % 4 == 0 else { return nil }
        var decoded: [UInt8] = []
        for start in stride(from: 0, to: body.count, by: 4) {
            guard let quantum = Data(base64Encoded: Data(body[start..<(start + 4)])) else { return nil }
            decoded += quantum
        }
        self.init(binary: decoded)
    }
}

/// Frames `messages` as gRPC length-prefixed messages (uncompressed).
func webFrames(_ messages: [[UInt8]]) -> [UInt8] {
    messages.flatMap { message -> [UInt8] in
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            + message
    }
}

/// Bytes as padded base64 with Foundation.
func base64Text(_ bytes: [UInt8]) -> [UInt8] { Array(Data(bytes).base64EncodedString().utf8) }
