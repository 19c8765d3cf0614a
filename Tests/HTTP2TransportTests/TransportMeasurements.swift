import Foundation
import GRPCProtos
import HTTP2Transport
import RPCCore
import Testing

/// Rough numbers for the transport over loopback (not assertions); run with HL_TRANSPORT_MEASURE=1.
@Suite("Transport measurements", .serialized)
struct TransportMeasurements {
    static let enabled = ProcessInfo.processInfo.environment["HL_TRANSPORT_MEASURE"] != nil

    @Test("unary latency and throughput, streaming throughput", .enabled(if: enabled))
    func measure() async throws {
        let server = try TestServer.start(loops: EventLoopGroupSize.processors)
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: server.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        _ = try await client.emptyCall(Grpc_Testing_Empty())

        let sequential = 2_000
        var start = ContinuousClock.now
        for _ in 0..<sequential { _ = try await client.emptyCall(Grpc_Testing_Empty()) }
        let sequentialTime = ContinuousClock.now - start
        print("unary sequential: \(sequential) calls in \(sequentialTime), \(sequentialTime / sequential) per call")

        let concurrency = 64
        let perTask = 300
        start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { for _ in 0..<perTask { _ = try await client.emptyCall(Grpc_Testing_Empty()) } }
            }
            try await group.waitForAll()
        }
        let concurrentTime = ContinuousClock.now - start
        let calls = Double(concurrency * perTask)
        print("unary \(concurrency) concurrent: \(Int(calls / concurrentTime.seconds)) calls/s")

        // Server streaming: 256 MiB in 64 KiB messages through the byte-level call (no protobuf cost).
        let descriptor = MethodDescriptor(service: "grpc.testing.TestService", method: "StreamingOutputCall", kind: .serverStreaming)
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = (0..<4096).map { _ in
            var parameters = Grpc_Testing_ResponseParameters()
            parameters.size = 65_536
            return parameters
        }
        start = ContinuousClock.now
        var bytes = 0
        for try await message in try await transport.call(
            descriptor, requests: RequestStream([request.serializedBytes()].async), options: CallOptions())
        {
            bytes += message.count
        }
        let streamTime = ContinuousClock.now - start
        print("server streaming: \(bytes >> 20) MiB in \(streamTime), \(Int(Double(bytes) / 1_048_576 / streamTime.seconds)) MiB/s")

        await transport.close()
        await server.stop()
    }
    @Test("the failover transport's cost per unary call beside one endpoint's own transport", .enabled(if: enabled))
    func measureFailover() async throws {
        let server = try TestServer.start(loops: EventLoopGroupSize.processors)
        let configuration = ClientConfiguration(host: "127.0.0.1", port: server.port)
        let plain = try HTTP2ClientTransport(configuration: configuration)
        let failover = try FailoverClientTransport(
            endpoints: [ClientEndpoint(host: "127.0.0.1", port: server.port), ClientEndpoint(host: "127.0.0.1", port: 1)],
            configuration: configuration)
        try await Self.measureUnary("one endpoint", Grpc_Testing_TestServiceClient(transport: plain))
        try await Self.measureUnary("failover, 2 endpoints", Grpc_Testing_TestServiceClient(transport: failover))
        await plain.close()
        await failover.close()
        await server.stop()
    }

    /// Prints the time per call of 2,000 sequential EmptyCalls and the calls per second of 64 callers.
    private static func measureUnary<Transport: ClientTransport>(
        _ name: String, _ client: Grpc_Testing_TestServiceClient<Transport>
    ) async throws {
        _ = try await client.emptyCall(Grpc_Testing_Empty())
        let sequential = 2_000
        var start = ContinuousClock.now
        for _ in 0..<sequential { _ = try await client.emptyCall(Grpc_Testing_Empty()) }
        let sequentialTime = ContinuousClock.now - start
        let concurrency = 64
        let perTask = 300
        start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { for _ in 0..<perTask { _ = try await client.emptyCall(Grpc_Testing_Empty()) } }
            }
            try await group.waitForAll()
        }
        let concurrentTime = ContinuousClock.now - start
        print(
            "\(name): unary sequential \(sequentialTime / sequential) per call; \(concurrency) concurrent "
                + "\(Int(Double(concurrency * perTask) / concurrentTime.seconds)) calls/s")
    }
}

/// The machine's processor count, for sizing loops in measurements.
enum EventLoopGroupSize {
    static let processors = ProcessInfo.processInfo.activeProcessorCount
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
