import GRPCProtos
import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// The caller's timeout reaches the handler as `ServerContext.deadline`, so a handler can pass what remains on.
@Suite("Server deadline in the context")
struct ServerDeadlineTests {
    /// Remembers the deadline of the last call it saw.
    final class DeadlineRecorder: ServerInterceptor {
        let seen = Mutex<ContinuousClock.Instant??>(nil)

        func intercept(
            requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
            next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
        ) async throws {
            seen.withLock { $0 = .some(context.deadline) }
            try await next(requests, responses, context)
        }
    }

    private func deadlineSeen(timeout: Duration?) async throws -> ContinuousClock.Instant? {
        let recorder = DeadlineRecorder()
        let server = GRPCServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            services: [InteropTestService().serviceDefinition], interceptors: [recorder])
        let port = try server.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        do {
            _ = try await client.emptyCall(Grpc_Testing_Empty(), options: CallOptions(timeout: timeout))
        } catch {
            await transport.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
        return try #require(recorder.seen.withLock { $0 })
    }

    @Test("a call with a 30 s timeout is served with a deadline at most 30 s away")
    func timeoutBecomesDeadline() async throws {
        let before = ContinuousClock.now
        let deadline = try #require(try await deadlineSeen(timeout: .seconds(30)))
        #expect(deadline > before.advanced(by: .seconds(20)))
        #expect(deadline <= ContinuousClock.now.advanced(by: .seconds(30)))
    }

    @Test("a call without a timeout has no deadline")
    func noTimeoutNoDeadline() async throws {
        #expect(try await deadlineSeen(timeout: nil) == nil)
    }

    @Test("the in-process transport gives the handler the same deadline")
    func inProcessDeadline() async throws {
        let recorder = DeadlineRecorder()
        let client = Grpc_Testing_TestServiceClient(
            transport: InProcessTransport(services: [InteropTestService().serviceDefinition], interceptors: [recorder]))
        let before = ContinuousClock.now
        _ = try await client.emptyCall(Grpc_Testing_Empty(), options: CallOptions(timeout: .seconds(30)))
        let deadline = try #require(recorder.seen.withLock { $0 } ?? nil)
        #expect(deadline > before.advanced(by: .seconds(20)))
        #expect(deadline <= ContinuousClock.now.advanced(by: .seconds(30)))
    }
}
