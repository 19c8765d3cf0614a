import GRPCProtos
import Glibc
import RPCCore

/// grpc.testing.TestService as gRPC's interop-test-descriptions.md specifies the server side: payloads of
/// the asked-for sizes, Echo Status, Echo Metadata, CompressedResponse, CompressedRequest and interval_us.
/// UnimplementedCall is left out of `serviceDefinitionWithoutUnimplementedCall`, so the router answers it
/// with UNIMPLEMENTED as it would any method the server does not have.
struct InteropTestService: Grpc_Testing_TestServiceService {
    func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        InteropCallControls.echoMetadata(from: context)
        return Grpc_Testing_Empty()
    }

    func unaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        InteropCallControls.echoMetadata(from: context)
        try Self.checkCompression(expected: request.expectCompressed)
        if let status = request.responseStatus, status.code != 0 { throw Self.echoedStatus(status) }
        var response = Grpc_Testing_SimpleResponse()
        response.payload = try Self.payload(type: request.responseType, size: request.responseSize)
        if let compressed = request.responseCompressed { InteropCallControls.compressResponses(compressed.value) }
        return response
    }

    /// Answers with the current time in nanoseconds and cache headers, so a caching proxy in front may serve
    /// a repeat ("CacheableUnaryCall" in the descriptions).
    func cacheableUnaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        InteropCallControls.echoMetadata(from: context)
        InteropCallControls.addInitialMetadata(["cache-control": "max-age=60, public"])
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        var response = Grpc_Testing_SimpleResponse()
        var payload = Grpc_Testing_Payload()
        payload.body = Array(String(nanoseconds).utf8)
        response.payload = payload
        return response
    }

    func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        InteropCallControls.echoMetadata(from: context)
        if let status = request.responseStatus, status.code != 0 { throw Self.echoedStatus(status) }
        try await Self.answer(request, to: responses)
    }

    func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        InteropCallControls.echoMetadata(from: context)
        var total = 0
        for try await request in requests {
            try Self.checkCompression(expected: request.expectCompressed)
            total += request.payload?.body.count ?? 0
        }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = Int32(clamping: total)
        return response
    }

    func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        InteropCallControls.echoMetadata(from: context)
        for try await request in requests {
            // Echo Status: the call ends with the status; later requests are not processed.
            if let status = request.responseStatus, status.code != 0 { throw Self.echoedStatus(status) }
            try await Self.answer(request, to: responses)
        }
    }

    func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        InteropCallControls.echoMetadata(from: context)
        var received: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { received.append(request) }
        for request in received {
            if let status = request.responseStatus, status.code != 0 { throw Self.echoedStatus(status) }
            try await Self.answer(request, to: responses)
        }
    }

    /// Never called: `serviceDefinitionWithoutUnimplementedCall` does not route it.
    func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented")
    }

    /// The service as the server registers it: every method but UnimplementedCall.
    var serviceDefinitionWithoutUnimplementedCall: ServiceDefinition {
        let all = serviceDefinition
        return ServiceDefinition(
            name: all.name,
            methods: all.methods.filter { $0.descriptor != Grpc_Testing_TestServiceMethods.unimplementedCall })
    }

    /// One response per ResponseParameters, each after sleeping its interval_us (which accumulates, as the
    /// sleeps follow one another) and compressed as its `compressed` asks.
    private static func answer(
        _ request: Grpc_Testing_StreamingOutputCallRequest,
        to responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 { try await Task.sleep(for: .microseconds(Int(parameters.intervalUs))) }
            var response = Grpc_Testing_StreamingOutputCallResponse()
            response.payload = try payload(type: request.responseType, size: parameters.size)
            InteropCallControls.compressResponses(parameters.compressed?.value ?? false)
            try await responses.write(response)
        }
    }

    /// A payload of `size` zero bytes; COMPRESSABLE is the only type this schema has, anything else is
    /// INVALID_ARGUMENT as the UnaryCall description asks.
    private static func payload(type: Grpc_Testing_PayloadType, size: Int32) throws -> Grpc_Testing_Payload {
        guard type == .compressable else {
            throw RPCError(code: .invalidArgument, message: "unsupported payload type \(type.rawValue)")
        }
        guard size >= 0 else { throw RPCError(code: .invalidArgument, message: "negative payload size \(size)") }
        var payload = Grpc_Testing_Payload()
        payload.type = .compressable
        payload.body = [UInt8](repeating: 0, count: Int(size))
        return payload
    }

    /// The status an EchoStatus asks the call to end with.
    private static func echoedStatus(_ status: Grpc_Testing_EchoStatus) -> RPCError {
        RPCError(code: RPCError.Code(rawValue: Int(status.code)) ?? .unknown, message: status.message)
    }

    /// CompressedRequest: a request message with expect_compressed true that arrived uncompressed fails the call
    /// with INVALID_ARGUMENT. Checked per message (`InteropCallControls.lastRequestWasCompressed`), so it must run
    /// right after the message was taken; outside HTTP/2 (in-process) there is no flag and nothing is checked.
    private static func checkCompression(expected: Grpc_Testing_BoolValue?) throws {
        guard let expected, expected.value, InteropCallControls.lastRequestWasCompressed() == false else { return }
        throw RPCError(code: .invalidArgument, message: "Expected compressed request, got uncompressed")
    }
}
