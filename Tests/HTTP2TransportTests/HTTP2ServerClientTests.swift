import GRPCProtos
import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// The Swift client and server talking over real loopback sockets: every RPC kind, statuses, metadata,
/// deadlines, cancellation, size limits and concurrency.
@Suite("HTTP/2 server and client over loopback")
struct HTTP2ServerClientTests {
    private func withClient(
        _ configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (Grpc_Testing_TestServiceClient<HTTP2ClientTransport>, TestServer) async throws -> Void
    ) async throws {
        let server = try TestServer.start(configure)
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: server.port))
        do {
            try await body(Grpc_Testing_TestServiceClient(transport: transport), server)
        } catch {
            await transport.close()
            await server.stop()
            throw error
        }
        await transport.close()
        await server.stop()
    }

    @Test("empty_unary and large_unary: requests and responses of 0 and ~300 KB arrive intact")
    func unaryCalls() async throws {
        try await withClient { client, _ in
            #expect(try await client.emptyCall(Grpc_Testing_Empty()) == Grpc_Testing_Empty())
            var request = Grpc_Testing_SimpleRequest()
            request.responseSize = 314_159
            request.payload = InteropTestService.payload(size: 271_828)
            let response = try await client.unaryCall(request)
            #expect(response.payload?.body.count == 314_159)
        }
    }

    @Test("client_streaming: four uploads are summed to 74922 bytes")
    func clientStreaming() async throws {
        try await withClient { client, _ in
            let requests = [27_182, 8, 1_828, 45_904].map { size in
                var request = Grpc_Testing_StreamingInputCallRequest()
                request.payload = InteropTestService.payload(size: Int32(size))
                return request
            }
            let response = try await client.streamingInputCall(PacedSequence(elements: requests, gap: .milliseconds(5)))
            #expect(response.aggregatedPayloadSize == 74_922)
        }
    }

    @Test("server_streaming and ping_pong: responses of the asked-for sizes, in order")
    func streamingCalls() async throws {
        try await withClient { client, _ in
            let sizes: [Int32] = [31_415, 9, 2_653, 58_979]
            var received: [Int] = []
            for try await response in try await client.streamingOutputCall(streamingRequest(sizes: sizes)) {
                received.append(response.payload?.body.count ?? -1)
            }
            #expect(received == sizes.map(Int.init))

            received = []
            let requests = sizes.map { streamingRequest(sizes: [$0]) }
            for try await response in try await client.fullDuplexCall(PacedSequence(elements: requests, gap: .milliseconds(5))) {
                received.append(response.payload?.body.count ?? -1)
            }
            #expect(received == sizes.map(Int.init))

            received = []
            for try await response in try await client.fullDuplexCall(PacedSequence(elements: [Grpc_Testing_StreamingOutputCallRequest](), gap: .zero)) {
                received.append(response.payload?.body.count ?? -1)
            }
            #expect(received.isEmpty)
        }
    }

    @Test("a thrown status reaches the client with its code, message and trailing metadata")
    func statusAndMetadata() async throws {
        try await withClient { client, _ in
            var request = Grpc_Testing_SimpleRequest()
            request.responseStatus = Grpc_Testing_EchoStatus()
            request.responseStatus?.code = 2
            request.responseStatus?.message = "test status message ✓ 100%"
            let options = CallOptions(metadata: [
                "x-grpc-test-echo-initial": "test_initial_metadata_value",
                "x-grpc-test-echo-trailing-bin": .binary([0xAB, 0xAB, 0xAB]),
            ])
            let error = await #expect(throws: RPCError.self) { try await client.unaryCall(request, options: options) }
            #expect(error?.code == .unknown)
            #expect(error?.message == "test status message ✓ 100%")
            #expect(error?.metadata["x-grpc-test-echo-trailing-bin"] == .binary([0xAB, 0xAB, 0xAB]))
        }
    }

    @Test("an unknown method and an unimplemented one are UNIMPLEMENTED")
    func unimplemented() async throws {
        try await withClient { client, _ in
            let error = await #expect(throws: RPCError.self) { try await client.unimplementedCall(Grpc_Testing_Empty()) }
            #expect(error?.code == .unimplemented)
            let other = Grpc_Testing_UnimplementedServiceClient(transport: client.transport)
            let unknown = await #expect(throws: RPCError.self) { try await other.unimplementedCall(Grpc_Testing_Empty()) }
            #expect(unknown?.code == .unimplemented)
        }
    }

    @Test("a deadline that passes fails the call with DEADLINE_EXCEEDED and cancels the handler")
    func deadline() async throws {
        try await withClient { client, server in
            let request = streamingRequest(sizes: [10], intervalUs: 60_000_000)
            let started = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                for try await _ in try await client.fullDuplexCall(
                    PacedSequence(elements: [request], gap: .zero), options: CallOptions(timeout: .milliseconds(200)))
                {}
            }
            #expect(error?.code == .deadlineExceeded)
            // Far below the handler's 60 s sleep (loose: parallel suites can load the machine).
            #expect(ContinuousClock.now - started < .seconds(20))
            #expect(await server.events.waitFor(timeout: .seconds(20)) { $0 == "fullDuplexCall: cancelled" })
        }
    }

    @Test("cancelling the calling task resets the stream and the server's handler is cancelled")
    func cancellation() async throws {
        try await withClient { client, server in
            let first = streamingRequest(sizes: [100])
            let progress = CallEvents()
            let task = Task {
                var count = 0
                for try await _ in try await client.fullDuplexCall(EndlessSequence(elements: [first])) {
                    count += 1
                    progress.record("response \(count)")
                }
                return count
            }
            // Cancel only once the call is surely running on the server (its first response arrived).
            #expect(await progress.waitFor(timeout: .seconds(20)) { $0 == "response 1" })
            task.cancel()
            let result = await task.result
            #expect(throws: RPCError.self) { try result.get() }
            #expect(await server.events.waitFor(timeout: .seconds(20)) { $0 == "fullDuplexCall: cancelled" })
        }
    }

    @Test("a request of 4 MiB + 1 is RESOURCE_EXHAUSTED and the connection stays usable")
    func oversizedRequest() async throws {
        try await withClient { client, _ in
            var request = Grpc_Testing_SimpleRequest()
            request.payload = InteropTestService.payload(size: 4 * 1024 * 1024 + 1)
            let error = await #expect(throws: RPCError.self) { try await client.unaryCall(request) }
            #expect(error?.code == .resourceExhausted)
            let afterwards = try await client.emptyCall(Grpc_Testing_Empty())
            #expect(afterwards == Grpc_Testing_Empty())
        }
    }

    @Test("300 concurrent calls share one connection and all succeed")
    func manyConcurrentCalls() async throws {
        try await withClient { client, _ in
            let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<300 {
                    group.addTask {
                        var request = Grpc_Testing_SimpleRequest()
                        request.responseSize = Int32(1000 + i)
                        return try await client.unaryCall(request).payload?.body.count ?? -1
                    }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect(sizes == Set((0..<300).map { 1000 + $0 }))
        }
    }

    @Test("a server that is not there fails calls with UNAVAILABLE naming the address and errno text")
    func connectionRefused() async throws {
        // A port bound but not listening refuses connections, and no parallel test can take it meanwhile.
        let reserved = try #require(ReservedPort())
        let port = reserved.port
        defer { reserved.release() }
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let error = await #expect(throws: RPCError.self) { try await client.emptyCall(Grpc_Testing_Empty()) }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "connection to 127.0.0.1:\(port) failed: Connection refused")
        #expect(error?.isUnprocessed == true, "the request never left: it may be sent again, elsewhere too")
        await transport.close()
        let closed = await #expect(throws: RPCError.self) { try await client.emptyCall(Grpc_Testing_Empty()) }
        #expect(closed?.isUnprocessed == true, "a closed transport sends nothing")
    }

    @Test("a call the connection carried when it closed may have been processed: its error does not say otherwise")
    func callOpenWhenTheConnectionClosesIsNotMarkedUnprocessed() async throws {
        let server = try TestServer.start()
        let configuration = ClientConfiguration(host: "127.0.0.1", port: server.port)
        let transport = try HTTP2ClientTransport(configuration: configuration)
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let (requests, sender) = AsyncStream<Grpc_Testing_StreamingOutputCallRequest>.makeStream()
        var request = Grpc_Testing_StreamingOutputCallRequest()
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = 1
        request.responseParameters = [parameters]
        sender.yield(request)
        let responses = try await client.fullDuplexCall(requests)
        var iterator = responses.makeAsyncIterator()
        #expect(try await iterator.next() != nil, "the server answered the first request")
        await transport.close()
        do {
            _ = try await iterator.next()
            Issue.record("the call went on after its connection closed")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
            #expect(!error.isUnprocessed, "\(error)")
        }
        sender.finish()
        await server.stop()
    }
}
