import GRPCProtos
import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// Server and client interceptors over real loopback sockets: a bearer token added by the client is checked
/// by the server before the handler runs, and the server's interceptors see the peer and how each call ended.
@Suite("Interceptors over HTTP/2")
struct InterceptorTransportTests {
    /// Starts a server whose calls pass a recorder, then a token check, then the recorder "inner", and calls
    /// `body` with a client that adds the token and one that does not.
    private func withServer(
        _ body: (
            _ authorized: Grpc_Testing_TestServiceClient<InterceptedClientTransport<HTTP2ClientTransport>>,
            _ anonymous: Grpc_Testing_TestServiceClient<HTTP2ClientTransport>, _ events: CallEvents
        ) async throws -> Void
    ) async throws {
        let events = CallEvents()
        let server = GRPCServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            services: [InteropTestService().serviceDefinition],
            interceptors: [
                CallRecordingInterceptor(name: "outer", events: events), RequiredTokenInterceptor(token: "s3cret"),
                CallRecordingInterceptor(name: "inner", events: events),
            ])
        let port = try server.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let authorized = InterceptedClientTransport(
            wrapping: transport, interceptors: [TokenAddingInterceptor(token: "s3cret")])
        do {
            try await body(
                Grpc_Testing_TestServiceClient(transport: authorized),
                Grpc_Testing_TestServiceClient(transport: transport),
                events)
        } catch {
            await transport.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test("a call with the client interceptor's token passes the server chain in order and sees the socket peer")
    func authorizedCalls() async throws {
        try await withServer { authorized, _, events in
            #expect(try await authorized.emptyCall(Grpc_Testing_Empty()) == Grpc_Testing_Empty())
            let entries = events.all
            #expect(entries.count == 4)
            #expect(
                entries.first?.hasPrefix("outer in: /grpc.testing.TestService/EmptyCall from ipv4:127.0.0.1:") == true)
            #expect(entries.dropFirst().first?.hasPrefix("inner in: /grpc.testing.TestService/EmptyCall") == true)
            #expect(entries.suffix(2) == ["inner out: OK", "outer out: OK"])

            // Streams pass through the wrapped transport both ways.
            let requests = [31, 9, 2].map { streamingRequest(sizes: [$0]) }
            var sizes: [Int] = []
            for try await response in try await authorized.fullDuplexCall(PacedSequence(elements: requests, gap: .zero))
            {
                sizes.append(response.payload?.body.count ?? -1)
            }
            #expect(sizes == [31, 9, 2])
        }
    }

    @Test("a call without the token is UNAUTHENTICATED and never reaches the inner interceptor or the handler")
    func rejectedCalls() async throws {
        try await withServer { _, anonymous, events in
            let error = await #expect(throws: RPCError.self) { try await anonymous.emptyCall(Grpc_Testing_Empty()) }
            #expect(error == RPCError(.unauthenticated, "a bearer token is required"))
            #expect(await events.waitFor { $0 == "outer out: UNAUTHENTICATED" })
            #expect(!events.all.contains { $0.hasPrefix("inner") })
        }
    }

    @Test("an unknown method is UNIMPLEMENTED from the router, before any interceptor")
    func unknownMethods() async throws {
        try await withServer { authorized, _, events in
            let unknown = MethodDescriptor(service: "grpc.testing.TestService", method: "Teleport", kind: .unary)
            let error = await #expect(throws: RPCError.self) {
                let _: Grpc_Testing_Empty = try await authorized.transport.unary(
                    unknown, Grpc_Testing_Empty(), options: CallOptions())
            }
            #expect(error?.code == .unimplemented)
            #expect(events.all.isEmpty)
        }
    }

    @Test("a call past its deadline is seen by the server's interceptors as the cancellation of its handler")
    func deadlines() async throws {
        try await withServer { authorized, _, events in
            let error = await #expect(throws: RPCError.self) {
                for try await _ in try await authorized.streamingOutputCall(
                    streamingRequest(sizes: [1, 1, 1], intervalUs: 500_000),
                    options: CallOptions(timeout: .milliseconds(100)))
                {}
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(await events.waitFor { $0 == "outer out: CANCELLED" })
        }
    }
}

/// Records "<name> in: <path> from <peer>" and "<name> out: <STATUS>".
private struct CallRecordingInterceptor: ServerInterceptor {
    let name: String
    let events: CallEvents

    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        events.record("\(name) in: \(context.method.path) from \(context.peer)")
        do {
            try await next(requests, responses, context)
            events.record("\(name) out: OK")
        } catch {
            events.record("\(name) out: \(RPCError(convertingHandlerError: error).code.name)")
            throw error
        }
    }
}

/// Rejects calls without "authorization: Bearer <token>".
private struct RequiredTokenInterceptor: ServerInterceptor {
    let token: String

    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        guard context.metadata["authorization"]?.stringValue == "Bearer \(token)" else {
            throw RPCError(.unauthenticated, "a bearer token is required")
        }
        try await next(requests, responses, context)
    }
}

/// Adds "authorization: Bearer <token>" to every call.
private struct TokenAddingInterceptor: ClientInterceptor {
    let token: String

    func intercept(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        var options = options
        options.metadata.add("Bearer \(token)", forKey: "authorization")
        return try await next(requests, options)
    }
}
