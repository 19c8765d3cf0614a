import GRPCProtos
import RPCCore
import Testing

@testable import HTTP2Transport

/// A client over several servers of the interop TestService on real loopback sockets: which server serves each
/// call, when one stops, refuses connections or answers UNAVAILABLE.
@Suite("Failover client transport")
struct FailoverTransportTests {
    /// A failover transport over `ports` on loopback, with a short connect timeout and backoff.
    private static func transport(_ ports: [Int]) throws -> FailoverClientTransport {
        var configuration = ClientConfiguration(host: "unused", port: 0)
        configuration.backoff = ConnectionBackoff(
            initial: .milliseconds(200), multiplier: 2, jitter: 0, maximum: .seconds(2),
            minimumConnectTimeout: .seconds(2))
        return try FailoverClientTransport(
            endpoints: ports.map { ClientEndpoint(host: "127.0.0.1", port: $0) }, configuration: configuration)
    }

    /// One server-streaming call of one response: each server records it, so a test sees which one served it.
    private static func streamingCall(_ client: Grpc_Testing_TestServiceClient<FailoverClientTransport>) async throws {
        var request = Grpc_Testing_StreamingOutputCallRequest()
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = 8
        request.responseParameters = [parameters]
        for try await _ in try await client.streamingOutputCall(request) {}
    }

    /// How many calls each server started.
    private static func served(_ servers: [TestServer]) -> [Int] {
        servers.map { server in server.events.all.filter { $0 == "streamingOutputCall: started" }.count }
    }

    /// Waits until `transport` has seen its connection close or go away.
    private static func waitUntilDisconnected(_ transport: HTTP2ClientTransport) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await transport.connectionStatistics().isConnected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private static func callError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test("given three servers, calls go to the first; when it stops, every later call succeeds on the second")
    func stoppedServerIsPassedOver() async throws {
        let servers = try (0..<3).map { _ in try TestServer.start() }
        let transport = try Self.transport(servers.map(\.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        for _ in 0..<3 { try await Self.streamingCall(client) }
        #expect(Self.served(servers) == [3, 0, 0])

        await servers[0].stop(grace: .milliseconds(50))
        // Once the client has read the server's goodbye (a call started in that very instant may still be refused by
        // it, UNAVAILABLE and unsent, which the caller may send again).
        try await Self.waitUntilDisconnected(transport.transport(at: 0))
        for _ in 0..<3 { try await Self.streamingCall(client) }
        #expect(Self.served(servers) == [3, 3, 0])
        #expect(transport.currentEndpoint == ClientEndpoint(host: "127.0.0.1", port: servers[1].port))

        await transport.close()
        for server in servers.dropFirst() { await server.stop() }
    }

    @Test("given an endpoint that refuses connections from the start, calls skip it without an error")
    func refusingEndpointSkipped() async throws {
        let reserved = try #require(ReservedPort())
        defer { reserved.release() }
        let server = try TestServer.start()
        let transport = try Self.transport([reserved.port, server.port])
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        for _ in 0..<3 { try await Self.streamingCall(client) }
        #expect(Self.served([server]) == [3])
        #expect(transport.currentEndpoint.port == server.port)
        // The refusing endpoint was tried once: calls stay on the endpoint that answered.
        #expect(await transport.transport(at: 0).connectionStatistics().connectAttempts == 1)
        await transport.close()
        await server.stop()
    }

    @Test("given a client-streaming call whose first endpoint refuses, every request message reaches the second")
    func clientStreamingFailsOverWhole() async throws {
        let reserved = try #require(ReservedPort())
        defer { reserved.release() }
        let server = try TestServer.start()
        let transport = try Self.transport([reserved.port, server.port])
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let requests = [3, 5, 7].map { size in
            var request = Grpc_Testing_StreamingInputCallRequest()
            request.payload = InteropTestService.payload(size: Int32(size))
            return request
        }
        let messages = AsyncStream { continuation in
            for request in requests { continuation.yield(request) }
            continuation.finish()
        }
        let response = try await client.streamingInputCall(messages)
        #expect(response.aggregatedPayloadSize == 15)
        await transport.close()
        await server.stop()
    }

    @Test("when every endpoint is down, a call fails UNAVAILABLE naming each endpoint tried")
    func allDownNamesEveryEndpoint() async throws {
        let first = try #require(ReservedPort())
        let second = try #require(ReservedPort())
        defer {
            first.release()
            second.release()
        }
        let transport = try Self.transport([first.port, second.port])
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let error = await Self.callError { _ = try await client.emptyCall(Grpc_Testing_Empty()) }
        #expect(error?.code == .unavailable)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("none of the 2 endpoints could be reached"), "\(message)")
        #expect(message.contains("connection to 127.0.0.1:\(first.port) failed: Connection refused"), "\(message)")
        #expect(message.contains("connection to 127.0.0.1:\(second.port) failed: Connection refused"), "\(message)")
        await transport.close()
    }

    @Test("when a server answers UNAVAILABLE, the caller gets it and the next call goes to the other server")
    func unavailableAnswerMovesOn() async throws {
        let servers = try (0..<2).map { _ in try TestServer.start() }
        let transport = try Self.transport(servers.map(\.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        var request = Grpc_Testing_StreamingOutputCallRequest()
        var status = Grpc_Testing_EchoStatus()
        status.code = Int32(RPCError.Code.unavailable.rawValue)
        status.message = "not ready"
        request.responseStatus = status
        let error = await Self.callError { for try await _ in try await client.streamingOutputCall(request) {} }
        #expect(error == RPCError(.unavailable, "not ready"))
        // Not resent: the first server saw it once, the second not at all.
        #expect(Self.served(servers) == [1, 0])
        try await Self.streamingCall(client)
        #expect(Self.served(servers) == [1, 1])
        await transport.close()
        for server in servers { await server.stop() }
    }

    @Test(
        "when the server of a call in flight goes away, the call fails UNAVAILABLE, is not resent, and the next call goes to the other"
    )
    func callInFlightNotResent() async throws {
        let servers = try (0..<2).map { _ in try TestServer.start() }
        let transport = try Self.transport(servers.map(\.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = (0..<50).map { _ in
            var parameters = Grpc_Testing_ResponseParameters()
            parameters.size = 8
            parameters.intervalUs = 100_000
            return parameters
        }
        let responses = try await client.streamingOutputCall(request)
        var iterator = responses.makeAsyncIterator()
        _ = try await iterator.next()
        await servers[0].stop(grace: .zero)
        let error = await Self.callError { while try await iterator.next() != nil {} }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(Self.served(servers) == [1, 0])
        try await Self.streamingCall(client)
        #expect(Self.served(servers) == [1, 1])
        await transport.close()
        await servers[1].stop()
    }

    @Test("with a single endpoint, a refused call fails exactly as on the endpoint's own transport")
    func singleEndpointUnchanged() async throws {
        let reserved = try #require(ReservedPort())
        defer { reserved.release() }
        let transport = try Self.transport([reserved.port])
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let error = await Self.callError { _ = try await client.emptyCall(Grpc_Testing_Empty()) }
        // A refused connection never carried the call: the error says so, as the endpoint's own transport does.
        #expect(
            error == RPCError(.unavailable, "connection to 127.0.0.1:\(reserved.port) failed: Connection refused").markedUnprocessed())
        await transport.close()
    }

    @Test("given a call deadline shorter than the time to find an endpoint, the call fails DEADLINE_EXCEEDED")
    func deadlineCountsWhileFindingAnEndpoint() async throws {
        let server = try TestServer.start()
        let transport = try Self.transport([server.port, server.port])
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        // A call with time left goes through; one with none left never starts.
        _ = try await client.emptyCall(Grpc_Testing_Empty(), options: CallOptions(timeout: .seconds(5)))
        let error = await Self.callError {
            _ = try await client.emptyCall(Grpc_Testing_Empty(), options: CallOptions(timeout: .zero))
        }
        #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
        await transport.close()
        await server.stop()
    }
}
