import Glibc
import Metrics
import Prometheus

/// The process's metrics registry, installed as the swift-metrics backend.
enum PrometheusMetrics {
    /// Installs a Prometheus registry as the metrics backend and returns it.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}

/// A minimal HTTP/1.1 listener answering `GET /metrics` with the Prometheus text exposition format; one
/// request per connection, served on its own thread (scrapes are rare and small).
final class MetricsEndpoint: @unchecked Sendable {
    /// The bound port.
    let port: Int
    private let listener: Int32
    private let registry: PrometheusCollectorRegistry

    struct BindError: Error, CustomStringConvertible {
        var description: String
    }

    init(host: String, port: Int, metrics: PrometheusCollectorRegistry) throws {
        registry = metrics
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw BindError(description: "socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            close(socketFD)
            throw BindError(description: "\(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socketFD, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socketFD)
            throw BindError(description: "bind \(host):\(port): \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        listener = socketFD
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<MetricsEndpoint>.fromOpaque(argument!).takeRetainedValue().serve()
                return nil
            }, box.toOpaque())
        pthread_detach(thread)
    }

    /// Stops accepting scrapes.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            respond(on: connection)
            close(connection)
        }
    }

    private func respond(on connection: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            request += buffer[0..<count]
            if request.count >= 4, Array(request.suffix(4)) == [13, 10, 13, 10] { break }
        }
        let requestLine = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
        let body: [UInt8]
        let status: String
        let contentType: String
        if requestLine.hasPrefix("GET /metrics ") || requestLine == "GET /metrics" {
            status = "200 OK"
            contentType = "text/plain; version=0.0.4; charset=utf-8"
            body = registry.emitToBuffer()
        } else {
            status = "404 Not Found"
            contentType = "text/plain; charset=utf-8"
            body = Array("only GET /metrics is served here\n".utf8)
        }
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let response = Array(head.utf8) + body
        var sent = 0
        while sent < response.count {
            let count = response.withUnsafeBytes { send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }
}
