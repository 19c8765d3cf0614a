import GRPCProtos
import RPCCore

/// The client side of gRPC's interop cases (doc/interop-test-descriptions.md, "Client"), over any
/// `ClientTransport`; each method's checks are the description's "Client asserts".
struct InteropClientCases<Transport: ClientTransport>: Sendable {
    /// The deadline of every call that does not test deadlines, so a broken server cannot hang a case.
    static var callTimeout: Duration { .seconds(10) }

    let client: Grpc_Testing_TestServiceClient<Transport>
    let unimplementedClient: Grpc_Testing_UnimplementedServiceClient<Transport>

    /// Cases that run over `transport`.
    init(transport: Transport) {
        self.client = Grpc_Testing_TestServiceClient(transport: transport)
        self.unimplementedClient = Grpc_Testing_UnimplementedServiceClient(transport: transport)
    }

    /// Every case name, in the order of the descriptions.
    static var names: [String] {
        [
            "empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary", "client_streaming",
            "client_compressed_streaming", "server_streaming", "server_compressed_streaming", "ping_pong",
            "empty_stream", "custom_metadata", "status_code_and_message", "special_status_message",
            "unimplemented_method", "unimplemented_service", "cancel_after_begin", "cancel_after_first_response",
            "timeout_on_sleeping_server",
        ]
    }

    /// Runs the case called `name`; throws `InteropCaseFailure` or the call's error.
    func run(_ name: String) async throws {
        switch name {
        case "empty_unary": try await emptyUnary()
        case "large_unary": try await largeUnary()
        case "client_compressed_unary": try await clientCompressedUnary()
        case "server_compressed_unary": try await serverCompressedUnary()
        case "client_streaming": try await clientStreaming()
        case "client_compressed_streaming": try await clientCompressedStreaming()
        case "server_streaming": try await serverStreaming()
        case "server_compressed_streaming": try await serverCompressedStreaming()
        case "ping_pong": try await pingPong()
        case "empty_stream": try await emptyStream()
        case "custom_metadata": try await customMetadata()
        case "status_code_and_message": try await statusCodeAndMessage()
        case "special_status_message": try await specialStatusMessage()
        case "unimplemented_method": try await unimplementedMethod()
        case "unimplemented_service": try await unimplementedService()
        case "cancel_after_begin": try await cancelAfterBegin()
        case "cancel_after_first_response": try await cancelAfterFirstResponse()
        case "timeout_on_sleeping_server": try await timeoutOnSleepingServer()
        case "very_large_unary": try await veryLargeUnary()
        default: throw InteropCaseFailure(reason: "unknown test case \(name)")
        }
    }

    private var options: CallOptions { CallOptions(timeout: Self.callTimeout) }

    // MARK: Cases

    func emptyUnary() async throws {
        _ = try await client.emptyCall(Grpc_Testing_Empty(), options: options)
    }

    func largeUnary() async throws {
        let response = try await client.unaryCall(Self.largeRequest(), options: options)
        try Self.checkPayload(response.payload, size: 314_159, "UnaryCall")
    }

    /// The probe (expect_compressed, sent uncompressed) must fail with INVALID_ARGUMENT from a server that checks
    /// CompressedRequest; grpcio's Python server cannot see the flag and answers OK, which is accepted here so
    /// that the compressed calls after it are still checked.
    func clientCompressedUnary() async throws {
        var probe = Self.largeRequest()
        probe.expectCompressed = Self.boolValue(true)
        try await expectProbeRejected("UnaryCall probe") { _ = try await client.unaryCall(probe, options: options) }
        var compressedOptions = options
        compressedOptions.compression = .gzip
        let compressed = try await client.unaryCall(probe, options: compressedOptions)
        try Self.checkPayload(compressed.payload, size: 314_159, "compressed UnaryCall")
        var plain = Self.largeRequest()
        plain.expectCompressed = Self.boolValue(false)
        let response = try await client.unaryCall(plain, options: options)
        try Self.checkPayload(response.payload, size: 314_159, "uncompressed UnaryCall")
    }

    /// The response's compressed flag is not visible through `ClientTransport`; the descriptions make that
    /// check "if supported by the implementation", so this asserts success and sizes.
    func serverCompressedUnary() async throws {
        for compressed in [true, false] {
            var request = Self.largeRequest()
            request.responseCompressed = Self.boolValue(compressed)
            let response = try await client.unaryCall(request, options: options)
            try Self.checkPayload(response.payload, size: 314_159, "response_compressed=\(compressed)")
        }
    }

    func clientStreaming() async throws {
        let requests = [27_182, 8, 1_828, 45_904].map { size in
            var request = Grpc_Testing_StreamingInputCallRequest()
            request.payload = Self.zeros(size)
            return request
        }
        let response = try await client.streamingInputCall(Self.finishedStream(requests), options: options)
        try require(
            response.aggregatedPayloadSize == 74_922,
            "aggregated_payload_size is \(response.aggregatedPayloadSize), expected 74922")
    }

    /// As client_compressed_unary for the probe; then one gzip call whose first message is compressed and
    /// whose second is not (`CallOptions.compressesRequestMessage`).
    func clientCompressedStreaming() async throws {
        var first = Grpc_Testing_StreamingInputCallRequest()
        first.expectCompressed = Self.boolValue(true)
        first.payload = Self.zeros(27_182)
        try await expectProbeRejected("StreamingInputCall probe") {
            _ = try await client.streamingInputCall(Self.finishedStream([first]), options: options)
        }
        var second = Grpc_Testing_StreamingInputCallRequest()
        second.expectCompressed = Self.boolValue(false)
        second.payload = Self.zeros(45_904)
        var compressedOptions = options
        compressedOptions.compression = .gzip
        compressedOptions.compressesRequestMessage = { $0 == 0 }
        let response = try await client.streamingInputCall(
            Self.finishedStream([first, second]), options: compressedOptions)
        try require(
            response.aggregatedPayloadSize == 73_086,
            "aggregated_payload_size is \(response.aggregatedPayloadSize), expected 73086")
    }

    func serverStreaming() async throws {
        let sizes = [31_415, 9, 2_653, 58_979]
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = sizes.map { Self.parameters(size: $0) }
        var received: [Grpc_Testing_StreamingOutputCallResponse] = []
        for try await response in try await client.streamingOutputCall(request, options: options) {
            received.append(response)
        }
        try require(received.count == 4, "\(received.count) responses, expected exactly 4")
        for (index, (response, size)) in zip(received, sizes).enumerated() {
            try Self.checkPayload(response.payload, size: size, "response \(index + 1)")
        }
    }

    /// As server_compressed_unary: the flags are not visible, so this asserts success and sizes.
    func serverCompressedStreaming() async throws {
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = [
            Self.parameters(size: 31_415, compressed: true), Self.parameters(size: 92_653, compressed: false),
        ]
        var received: [Grpc_Testing_StreamingOutputCallResponse] = []
        for try await response in try await client.streamingOutputCall(request, options: options) {
            received.append(response)
        }
        try require(received.count == 2, "\(received.count) responses, expected exactly 2")
        try Self.checkPayload(received[0].payload, size: 31_415, "response 1")
        try Self.checkPayload(received[1].payload, size: 92_653, "response 2")
    }

    func pingPong() async throws {
        let (requests, sender) = AsyncStream<Grpc_Testing_StreamingOutputCallRequest>.makeStream()
        defer { sender.finish() }
        var responses = try await client.fullDuplexCall(requests, options: options).makeAsyncIterator()
        for (index, (responseSize, payloadSize)) in zip([31_415, 9, 2_653, 58_979], [27_182, 8, 1_828, 45_904])
            .enumerated()
        {
            var request = Grpc_Testing_StreamingOutputCallRequest()
            request.responseParameters = [Self.parameters(size: responseSize)]
            request.payload = Self.zeros(payloadSize)
            sender.yield(request)
            let response = try await responses.next()
            try require(response != nil, "the call ended after \(index) responses, expected 4")
            try Self.checkPayload(response?.payload, size: responseSize, "response \(index + 1)")
        }
        sender.finish()
        try require(try await responses.next() == nil, "more than 4 responses")
    }

    func emptyStream() async throws {
        let requests = Self.finishedStream([Grpc_Testing_StreamingOutputCallRequest]())
        var count = 0
        for try await _ in try await client.fullDuplexCall(requests, options: options) { count += 1 }
        try require(count == 0, "\(count) responses, expected exactly 0")
    }

    /// Sends the echo metadata and checks it comes back: the initial value in the response headers, the
    /// binary one in the trailers, for a unary and a full-duplex call.
    func customMetadata() async throws {
        var options = self.options
        options.metadata.add(Self.echoInitialValue, forKey: Self.echoInitialKey)
        options.metadata.add(Self.echoTrailingValue, forKey: Self.echoTrailingKey)
        let unary: ClientResponse<Grpc_Testing_SimpleResponse> = try await client.transport.unaryWithMetadata(
            Grpc_Testing_TestServiceMethods.unaryCall, Self.largeRequest(), options: options)
        try Self.checkPayload(unary.message.payload, size: 314_159, "UnaryCall")
        try Self.checkEchoedMetadata(initial: unary.initialMetadata, trailing: unary.trailingMetadata, "UnaryCall")
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = [Self.parameters(size: 314_159)]
        request.payload = Self.zeros(271_828)
        let responses = try await client.fullDuplexCall(Self.finishedStream([request]), options: options)
        var count = 0
        for try await response in responses {
            try Self.checkPayload(response.payload, size: 314_159, "FullDuplexCall")
            count += 1
        }
        try require(count == 1, "FullDuplexCall: \(count) responses, expected 1")
        try Self.checkEchoedMetadata(
            initial: try await responses.initialMetadata, trailing: responses.trailingMetadata, "FullDuplexCall")
    }

    func statusCodeAndMessage() async throws {
        try await expectEchoedStatus(message: "test status message", streaming: true)
    }

    func specialStatusMessage() async throws {
        try await expectEchoedStatus(
            message: "\t\ntest with whitespace\r\nand Unicode BMP \u{263A} and non-BMP \u{1F608}\t\n", streaming: false)
    }

    func unimplementedMethod() async throws {
        try await expectStatus(.unimplemented, "TestService/UnimplementedCall") {
            _ = try await client.unimplementedCall(Grpc_Testing_Empty(), options: options)
        }
    }

    func unimplementedService() async throws {
        try await expectStatus(.unimplemented, "UnimplementedService/UnimplementedCall") {
            _ = try await unimplementedClient.unimplementedCall(Grpc_Testing_Empty(), options: options)
        }
    }

    func cancelAfterBegin() async throws {
        let (requests, sender) = AsyncStream<Grpc_Testing_StreamingInputCallRequest>.makeStream()
        defer { sender.finish() }
        let call = Task { [client, options] in
            try await client.streamingInputCall(requests, options: options)
        }
        call.cancel()
        try await expectStatus(.cancelled, "StreamingInputCall") { _ = try await call.value }
    }

    func cancelAfterFirstResponse() async throws {
        let (requests, sender) = AsyncStream<Grpc_Testing_StreamingOutputCallRequest>.makeStream()
        defer { sender.finish() }
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = [Self.parameters(size: 31_415)]
        request.payload = Self.zeros(27_182)
        sender.yield(request)
        // The call runs in a task of its own so that cancelling that task is cancelling the call.
        let call = Task { [client, options] () async throws -> Grpc_Testing_StreamingOutputCallResponse? in
            var responses = try await client.fullDuplexCall(requests, options: options).makeAsyncIterator()
            guard try await responses.next() != nil else { throw InteropCaseFailure(reason: "no first response") }
            withUnsafeCurrentTask { $0?.cancel() }
            return try await responses.next()
        }
        try await expectStatus(.cancelled, "FullDuplexCall after cancelling") { _ = try await call.value }
    }

    func timeoutOnSleepingServer() async throws {
        let (requests, sender) = AsyncStream<Grpc_Testing_StreamingOutputCallRequest>.makeStream()
        defer { sender.finish() }
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.payload = Self.zeros(27_182)
        sender.yield(request)
        try await expectStatus(.deadlineExceeded, "FullDuplexCall with a 1 ms timeout") {
            for try await _ in try await client.fullDuplexCall(
                requests, options: CallOptions(timeout: .milliseconds(1)))
            {
                throw InteropCaseFailure(reason: "a response arrived; expected DEADLINE_EXCEEDED")
            }
        }
    }

    /// Not from the descriptions: large_unary with 3 MB each way, more than the transport buffers per
    /// connection (1 MiB), so both directions must keep writing without help from the peer's frames.
    func veryLargeUnary() async throws {
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 3_000_000
        request.payload = Self.zeros(3_000_000)
        let response = try await client.unaryCall(request, options: options)
        try Self.checkPayload(response.payload, size: 3_000_000, "UnaryCall")
    }

    // MARK: Helpers

    private static var echoInitialKey: String { "x-grpc-test-echo-initial" }
    private static var echoInitialValue: String { "test_initial_metadata_value" }
    private static var echoTrailingKey: String { "x-grpc-test-echo-trailing-bin" }
    private static var echoTrailingValue: [UInt8] { [0xAB, 0xAB, 0xAB] }

    /// Fails unless the echo keys came back: the text value in `initial`, the bytes in `trailing`.
    private static func checkEchoedMetadata(initial: Metadata, trailing: Metadata, _ step: String) throws {
        try require(
            initial.values(forKey: echoInitialKey) == [.string(echoInitialValue)],
            "\(step): initial metadata \(echoInitialKey) is \(initial.values(forKey: echoInitialKey)), in \(initial)")
        try require(
            trailing.values(forKey: echoTrailingKey) == [.binary(echoTrailingValue)],
            "\(step): trailing metadata \(echoTrailingKey) is \(trailing.values(forKey: echoTrailingKey)), in \(trailing)")
    }

    /// Runs a CompressedRequest probe: INVALID_ARGUMENT (the server checks the flag) or OK (it cannot, like
    /// grpcio's Python server) pass; any other outcome fails.
    private func expectProbeRejected(_ step: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as RPCError {
            try require(error.code == .invalidArgument, "\(step): status \(error.code) \(error.message.debugDescription), expected INVALID_ARGUMENT")
        }
    }

    private func expectEchoedStatus(message: String, streaming: Bool) async throws {
        var status = Grpc_Testing_EchoStatus()
        status.code = 2
        status.message = message
        var unary = Grpc_Testing_SimpleRequest()
        unary.responseStatus = status
        let error = try await expectStatus(.unknown, "UnaryCall") {
            _ = try await client.unaryCall(unary, options: options)
        }
        try require(error.message == message, "UnaryCall: message \(error.message.debugDescription)")
        guard streaming else { return }
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseStatus = status
        let streamError = try await expectStatus(.unknown, "FullDuplexCall") {
            for try await _ in try await client.fullDuplexCall(Self.finishedStream([request]), options: options) {}
        }
        try require(streamError.message == message, "FullDuplexCall: message \(streamError.message.debugDescription)")
    }

    /// Runs `body`, which must fail with `code`; returns the error.
    @discardableResult
    private func expectStatus(
        _ code: RPCError.Code, _ step: String, _ body: () async throws -> Void
    ) async throws -> RPCError {
        do {
            try await body()
        } catch let error as RPCError {
            try require(
                error.code == code, "\(step): expected \(code), got \(error.code): \(error.message.debugDescription)")
            return error
        }
        throw InteropCaseFailure(reason: "\(step): expected \(code), the call succeeded")
    }

    private static func checkPayload(_ payload: Grpc_Testing_Payload?, size: Int, _ step: String) throws {
        let body = payload?.body ?? []
        try require(body.count == size, "\(step): response payload is \(body.count) bytes, expected \(size)")
        try require(body.allSatisfy { $0 == 0 }, "\(step): response payload is not all zeros")
    }

    private static func largeRequest() -> Grpc_Testing_SimpleRequest {
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 314_159
        request.payload = zeros(271_828)
        return request
    }

    private static func zeros(_ size: Int) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.body = [UInt8](repeating: 0, count: size)
        return payload
    }

    private static func boolValue(_ value: Bool) -> Grpc_Testing_BoolValue {
        var boolValue = Grpc_Testing_BoolValue()
        boolValue.value = value
        return boolValue
    }

    private static func parameters(size: Int, compressed: Bool? = nil) -> Grpc_Testing_ResponseParameters {
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = Int32(size)
        parameters.compressed = compressed.map(boolValue)
        return parameters
    }

    /// A request stream holding `elements` and then ending (the client half-closes after them).
    private static func finishedStream<Element: Sendable>(_ elements: [Element]) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream<Element>.makeStream()
        for element in elements { continuation.yield(element) }
        continuation.finish()
        return stream
    }
}
