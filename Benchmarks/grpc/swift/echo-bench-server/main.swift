// The healthledger.bench.v1.Echo server on our HTTP2Transport, benchmarked against the gRPC C++
// reference server (Benchmarks/grpc/cpp/echo_server.cc) by Benchmarks/grpc/run-grpc-benchmark.
// Both answer the same calls the same way, so the numbers compare the transports.
//
// Usage: echo-bench-server [--port N] [--threads N] [--max-connections N]
// Prints "echo-bench-server listening on 127.0.0.1:PORT" once serving (PORT is the bound port, so
// --port 0 picks a free one), then serves until killed.

import HTTP2Transport
import RPCCore

import Glibc

/// Echo: Unary returns the request's bytes; ServerStream sends `messageCount` copies of one response.
struct EchoBenchService: Healthledger_Bench_V1_EchoService {
    func unary(
        request: Healthledger_Bench_V1_EchoRequest, context: ServerContext
    ) async throws -> Healthledger_Bench_V1_EchoResponse {
        var response = Healthledger_Bench_V1_EchoResponse()
        response.payload = request.payload
        return response
    }

    func serverStream(
        request: Healthledger_Bench_V1_StreamRequest,
        responses: ResponseWriter<Healthledger_Bench_V1_EchoResponse>,
        context: ServerContext
    ) async throws {
        // One message reused for every write, like the C++ server, so only the transport's cost varies.
        var response = Healthledger_Bench_V1_EchoResponse()
        response.payload = [UInt8](repeating: 0, count: Int(request.payloadSize))
        for _ in 0..<request.messageCount {
            try await responses.write(response)
        }
    }
}

/// Command-line settings: the port (0 = ephemeral), the number of event loops and the connection limit.
struct EchoBenchOptions {
    var port = 0
    var threads: Int? = nil
    /// Overrides `ServerLimits.maxConnections` (10,000): run-idle-connections holds that many idle ones
    /// and still needs room for its load generator's.
    var maxConnections: Int? = nil

    /// Parses `--port N`, `--threads N` and `--max-connections N` (also `--port=N`); exits with usage on
    /// anything else.
    static func parse(_ arguments: [String]) -> EchoBenchOptions {
        var options = EchoBenchOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            let value = parts.count == 2 ? parts[1] : remaining.popFirst()
            switch (name, value.flatMap { Int($0) }) {
            case ("--port", let number?): options.port = number
            case ("--threads", let number?) where number > 0: options.threads = number
            case ("--max-connections", let number?) where number > 0: options.maxConnections = number
            default: usage()
            }
        }
        return options
    }

    private static func usage() -> Never {
        StandardStreams.printError("usage: echo-bench-server [--port N] [--threads N] [--max-connections N]\n")
        exit(2)
    }
}

/// Unbuffered writes to the standard streams (the benchmark script waits for the "listening" line).
enum StandardStreams {
    /// Writes `text` to standard output at once.
    static func printOut(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes `text` to standard error at once.
    static func printError(_ text: String) { write(text, to: STDERR_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

let options = EchoBenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
var configuration = ServerConfiguration(host: "127.0.0.1", port: options.port)
if let threads = options.threads { configuration.eventLoopCount = threads }
if let maxConnections = options.maxConnections { configuration.limits.maxConnections = maxConnections }
let server = GRPCServer(configuration: configuration, services: [EchoBenchService().serviceDefinition])
do {
    let port = try server.start()
    StandardStreams.printOut(
        "echo-bench-server listening on 127.0.0.1:\(port) (event loops \(configuration.eventLoopCount))\n")
} catch {
    StandardStreams.printError("echo-bench-server: cannot start: \(error)\n")
    exit(1)
}
await server.waitUntilShutdown()
