import GRPCProtos
import ProtobufWire
import RPCCore
import Testing

// The generated grpc.testing.TestService server protocol and client stub, end to end through the
// in-process transport: every RPC kind of gRPC's cross-language interop suite, over encoded bytes.

/// A TestService implementation following the interop test descriptions (payloads of the requested
/// sizes, echoed status codes, UnimplementedCall left unimplemented).
struct InteropTestService: Grpc_Testing_TestServiceService {
    func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    func unaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: RPCError.Code(rawValue: Int(status.code)) ?? .unknown, message: status.message)
        }
        var response = Grpc_Testing_SimpleResponse()
        response.payload = Self.payload(size: request.responseSize)
        return response
    }

    func cacheableUnaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        try await unaryCall(request: request, context: context)
    }

    func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        for parameters in request.responseParameters {
            var response = Grpc_Testing_StreamingOutputCallResponse()
            response.payload = Self.payload(size: parameters.size)
            try await responses.write(response)
        }
    }

    func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var total: Int32 = 0
        for try await request in requests { total += Int32(request.payload?.body.count ?? 0) }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = total
        return response
    }

    func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            try await streamingOutputCall(request: request, responses: responses, context: context)
        }
    }

    func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        var buffered: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { buffered.append(request) }
        for request in buffered {
            try await streamingOutputCall(request: request, responses: responses, context: context)
        }
    }

    func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented")
    }

    /// A compressable payload of `size` zero bytes, as the interop tests ask for.
    static func payload(size: Int32) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.type = .compressable
        payload.body = [UInt8](repeating: 0, count: Int(size))
        return payload
    }
}

/// Requests for sizes, in the shape the interop tests use for streaming calls.
private func streamingRequest(sizes: [Int32]) -> Grpc_Testing_StreamingOutputCallRequest {
    var request = Grpc_Testing_StreamingOutputCallRequest()
    request.responseParameters = sizes.map { size in
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = size
        return parameters
    }
    return request
}

@Suite("Generated TestService over the in-process transport")
struct InteropTestServiceTests {
    let client = Grpc_Testing_TestServiceClient(
        transport: InProcessTransport(services: [InteropTestService().serviceDefinition]))

    @Test("empty_unary: an Empty goes in and an Empty comes back")
    func emptyUnary() async throws {
        let response = try await client.emptyCall(Grpc_Testing_Empty())
        #expect(response == Grpc_Testing_Empty())
    }

    @Test("large_unary: a 271828-byte request gets a 314159-byte payload back")
    func largeUnary() async throws {
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 314_159
        request.payload = InteropTestService.payload(size: 271_828)
        let response = try await client.unaryCall(request)
        #expect(response.payload?.body.count == 314_159)
        #expect(response.payload?.type == .compressable)
    }

    @Test("client_streaming: four uploads are summed to 74922 bytes")
    func clientStreaming() async throws {
        let sizes: [Int32] = [27_182, 8, 1_828, 45_904]
        let requests = sizes.map { size in
            var request = Grpc_Testing_StreamingInputCallRequest()
            request.payload = InteropTestService.payload(size: size)
            return request
        }
        let response = try await client.streamingInputCall(requests.async)
        #expect(response.aggregatedPayloadSize == 74_922)
    }

    @Test("server_streaming: one request gets four responses of the asked-for sizes, in order")
    func serverStreaming() async throws {
        let sizes: [Int32] = [31_415, 9, 2_653, 58_979]
        var received: [Int] = []
        for try await response in try await client.streamingOutputCall(streamingRequest(sizes: sizes)) {
            received.append(response.payload?.body.count ?? -1)
        }
        #expect(received == sizes.map(Int.init))
    }

    @Test("ping_pong: full duplex answers every request")
    func pingPong() async throws {
        let sizes: [Int32] = [31_415, 9, 2_653, 58_979]
        let requests = sizes.map { streamingRequest(sizes: [$0]) }
        var received: [Int] = []
        for try await response in try await client.fullDuplexCall(requests.async) {
            received.append(response.payload?.body.count ?? -1)
        }
        #expect(received == sizes.map(Int.init))
    }

    @Test("half duplex answers after the client half-closes, in request order")
    func halfDuplex() async throws {
        let requests = [streamingRequest(sizes: [1, 2]), streamingRequest(sizes: [3])]
        var received: [Int] = []
        for try await response in try await client.halfDuplexCall(requests.async) {
            received.append(response.payload?.body.count ?? -1)
        }
        #expect(received == [1, 2, 3])
    }

    @Test("empty_stream: a full duplex call with no requests ends with OK and no responses")
    func emptyStream() async throws {
        var count = 0
        for try await _ in try await client.fullDuplexCall([Grpc_Testing_StreamingOutputCallRequest]().async) {
            count += 1
        }
        #expect(count == 0)
    }

    @Test("status_code_and_message: the status the request asks for reaches the client")
    func statusCodeAndMessage() async throws {
        var request = Grpc_Testing_SimpleRequest()
        var status = Grpc_Testing_EchoStatus()
        status.code = 2
        status.message = "test status message"
        request.responseStatus = status
        let error = await #expect(throws: RPCError.self) { try await client.unaryCall(request) }
        #expect(error?.code == .unknown)
        #expect(error?.message == "test status message")
    }

    @Test("unimplemented_service: a service the server doesn't have gives UNIMPLEMENTED")
    func unimplementedService() async throws {
        let other = Grpc_Testing_UnimplementedServiceClient(transport: client.transport)
        let error = await #expect(throws: RPCError.self) { try await other.unimplementedCall(Grpc_Testing_Empty()) }
        #expect(error?.code == .unimplemented)
    }

    @Test("the methods enum lists every RPC with its kind and path")
    func methodDescriptors() {
        #expect(Grpc_Testing_TestServiceMethods.fullDuplexCall.path == "/grpc.testing.TestService/FullDuplexCall")
        #expect(Grpc_Testing_TestServiceMethods.fullDuplexCall.kind == .bidirectionalStreaming)
        #expect(Grpc_Testing_TestServiceMethods.streamingInputCall.kind == .clientStreaming)
        #expect(Grpc_Testing_TestServiceMethods.streamingOutputCall.kind == .serverStreaming)
        #expect(Grpc_Testing_TestServiceMethods.all.count == 8)
        #expect(InteropTestService().serviceDefinition.methods.map(\.descriptor) == Grpc_Testing_TestServiceMethods.all)
    }
}

/// An async sequence over an array's elements, standing in for a stream of requests.
struct ArrayAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        mutating func next() async -> Element? { base.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: elements.makeIterator()) }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence.
    var async: ArrayAsyncSequence<Element> { ArrayAsyncSequence(elements: self) }
}
