import GRPCProtos
import HTTP2Transport
import RPCCore
import Testing

/// Over real loopback sockets: the client reads the response headers' and trailers' metadata, compresses
/// requests as `CallOptions.compression` and `compressesRequestMessage` ask, and a handler sees each request
/// message's compressed flag through `ServerCallResponse.lastRequestWasCompressed`.
@Suite("HTTP/2 client response metadata and request compression")
struct ClientMetadataAndCompressionTests {
    private static let echoOptions = CallOptions(metadata: [
        "x-grpc-test-echo-initial": "test_initial_metadata_value",
        "x-grpc-test-echo-trailing-bin": .binary([0xAB, 0xAB, 0xAB]),
    ])

    private func withTransport(
        services: [ServiceDefinition]? = nil,
        _ body: (HTTP2ClientTransport) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        let server = GRPCServer(
            configuration: configuration,
            services: services ?? [InteropTestService(events: CallEvents()).serviceDefinition])
        let port = try server.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        do {
            try await body(transport)
        } catch {
            await transport.close()
            await server.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test("given echo metadata on a unary call, unaryWithMetadata returns it from the headers and trailers")
    func unaryMetadata() async throws {
        try await withTransport { transport in
            var request = Grpc_Testing_SimpleRequest()
            request.responseSize = 10
            let response: ClientResponse<Grpc_Testing_SimpleResponse> = try await transport.unaryWithMetadata(
                Grpc_Testing_TestServiceMethods.unaryCall, request, options: Self.echoOptions)
            #expect(response.message.payload?.body.count == 10)
            #expect(response.initialMetadata["x-grpc-test-echo-initial"] == "test_initial_metadata_value")
            #expect(response.initialMetadata["x-grpc-test-echo-trailing-bin"] == nil)
            #expect(response.trailingMetadata["x-grpc-test-echo-trailing-bin"] == .binary([0xAB, 0xAB, 0xAB]))
            // Reserved headers (content-type, grpc-encoding, grpc-status, ...) are not metadata.
            #expect(!response.initialMetadata.contains { $0.key == "content-type" || $0.key.hasPrefix("grpc-") })
            #expect(!response.trailingMetadata.contains { $0.key.hasPrefix("grpc-") })
        }
    }

    @Test("given a bidirectional call, the initial metadata is readable before the first response")
    func streamingMetadata() async throws {
        try await withTransport { transport in
            let client = Grpc_Testing_TestServiceClient(transport: transport)
            let (requests, sender) = AsyncStream<Grpc_Testing_StreamingOutputCallRequest>.makeStream()
            let responses = try await client.fullDuplexCall(requests, options: Self.echoOptions)
            sender.yield(streamingRequest(sizes: [5]))
            #expect(try await responses.initialMetadata["x-grpc-test-echo-initial"] == "test_initial_metadata_value")
            var iterator = responses.makeAsyncIterator()
            #expect(try await iterator.next()?.payload?.body.count == 5)
            #expect(responses.trailingMetadata.isEmpty)  // the call has not ended yet
            sender.finish()
            #expect(try await iterator.next() == nil)
            #expect(responses.trailingMetadata["x-grpc-test-echo-trailing-bin"] == .binary([0xAB, 0xAB, 0xAB]))
        }
    }

    @Test("given a call failing before any response, the initial metadata is empty and the trailers are the error's")
    func failedCallMetadata() async throws {
        try await withTransport { transport in
            let client = Grpc_Testing_TestServiceClient(transport: transport)
            var request = Grpc_Testing_StreamingOutputCallRequest()
            request.responseStatus = Grpc_Testing_EchoStatus()
            request.responseStatus?.code = 9
            request.responseStatus?.message = "no"
            let responses = try await client.fullDuplexCall(
                PacedSequence(elements: [request], gap: .zero), options: Self.echoOptions)
            let error = await #expect(throws: RPCError.self) { for try await _ in responses {} }
            #expect(error?.code == .failedPrecondition)
            #expect(responses.trailingMetadata["x-grpc-test-echo-trailing-bin"] == .binary([0xAB, 0xAB, 0xAB]))
            #expect(responses.trailingMetadata == error?.metadata)
        }
    }

    @Test(
        "given gzip and deflate calls compressing all but the second message, the handler sees each message's flag",
        arguments: [CompressionAlgorithm.gzip, .deflate])
    func perMessageCompression(_ algorithm: CompressionAlgorithm) async throws {
        try await withTransport(services: [CompressionProbe.service]) { transport in
            let messages: [[UInt8]] = (0..<3).map { [UInt8](repeating: UInt8($0), count: 2_000) }
            let options = CallOptions(compression: algorithm, compressesRequestMessage: { $0 != 1 })
            let responses = try await transport.call(
                CompressionProbe.method, requests: RequestStream(PacedSequence(elements: messages, gap: .zero)),
                options: options)
            var received: [[UInt8]] = []
            for try await response in responses { received.append(response) }
            #expect(received.map(\.first) == [1, 0, 1])
            #expect(received.map { Array($0.dropFirst()) } == messages)
            #expect(try await responses.initialMetadata["x-request-encoding"] == .string(algorithm.rawValue))
        }
    }

    @Test("given no compression option, messages go uncompressed with grpc-encoding identity")
    func noCompression() async throws {
        try await withTransport(services: [CompressionProbe.service]) { transport in
            let responses = try await transport.call(
                CompressionProbe.method, requests: RequestStream(PacedSequence(elements: [[7, 7, 7]], gap: .zero)),
                options: CallOptions())
            var received: [[UInt8]] = []
            for try await response in responses { received.append(response) }
            #expect(received == [[0, 7, 7, 7]])
            #expect(try await responses.initialMetadata["x-request-encoding"] == "identity")
        }
    }
}

/// A byte-level bidirectional method answering each request with its compressed flag (1 or 0) followed by
/// the request's bytes, and naming the call's grpc-encoding in the response headers.
private enum CompressionProbe {
    static let method = MethodDescriptor(service: "healthledger.test.Compression", method: "Probe", kind: .bidirectionalStreaming)

    static var service: ServiceDefinition {
        ServiceDefinition(
            name: method.service,
            methods: [
                ServerMethod(descriptor: method) { requests, responses, _ in
                    guard let call = ServerCallResponse.current else { throw RPCError(.internalError, "no call") }
                    call.addInitialMetadata(["x-request-encoding": .string(call.requestEncoding)])
                    for try await request in requests {
                        try await responses.write([call.lastRequestWasCompressed ? 1 : 0] + request)
                    }
                }
            ])
    }
}
