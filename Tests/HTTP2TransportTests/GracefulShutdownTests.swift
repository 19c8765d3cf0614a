import GRPCProtos
import HTTP2Transport
import RPCCore
import Testing

/// Shutting a server down: GOAWAY, calls in flight finish within the grace period, the rest are cancelled.
@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("a call in flight when shutdown starts completes normally; new connections are refused")
    func inFlightCallCompletes() async throws {
        let server = try TestServer.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: server.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let responses = try await client.streamingOutputCall(streamingRequest(sizes: [1, 2, 3], intervalUs: 150_000))
        var iterator = responses.makeAsyncIterator()
        var sizes = [try await iterator.next()?.payload?.body.count ?? -1]
        // The call is in flight (its first response arrived) when the shutdown starts.
        let shutdown = Task { await server.server.shutdown(gracePeriod: .seconds(10)) }
        while let response = try await iterator.next() { sizes.append(response.payload?.body.count ?? -1) }
        #expect(sizes == [1, 2, 3])
        await shutdown.value
        let error = await #expect(throws: RPCError.self) { try await client.emptyCall(Grpc_Testing_Empty()) }
        #expect(error?.code == .unavailable)
        await transport.close()
    }

    @Test("a call still running when the grace period ends is cancelled and shutdown returns")
    func graceExpires() async throws {
        let server = try TestServer.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: server.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let call = Task {
            for try await _ in try await client.streamingOutputCall(streamingRequest(sizes: [1, 2], intervalUs: 60_000_000)) {}
        }
        #expect(await server.events.waitFor(timeout: .seconds(20)) { $0 == "streamingOutputCall: started" })
        let started = ContinuousClock.now
        await server.server.shutdown(gracePeriod: .milliseconds(200))
        // Far below the handler's 60 s sleep: the grace period, not the call, decided when shutdown returned.
        #expect(ContinuousClock.now - started < .seconds(20))
        let result = await call.result
        #expect(throws: RPCError.self) { try result.get() }
        #expect(await server.events.waitFor(timeout: .seconds(20)) { $0 == "streamingOutputCall: cancelled" })
        await transport.close()
    }
}
