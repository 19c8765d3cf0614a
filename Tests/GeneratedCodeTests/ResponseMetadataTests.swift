import ProtobufWire
import RPCCore
import Testing

/// Response metadata through the client API in process: `ResponseStream.initialMetadata` /
/// `trailingMetadata`, the `...WithMetadata` helpers, and interceptors passing it on. In-process handlers
/// cannot send response metadata, so the initial metadata is empty and the trailing metadata is a failed
/// status's.
@Suite("Response metadata in process")
struct ResponseMetadataTests {
    let transport = InProcessTransport(services: [makeTestMathService()])

    @Test func givenAUnaryCallWhenAskedWithMetadataThenTheResponseComesWithEmptyMetadata() async throws {
        let response: ClientResponse<TestNumberMessage> = try await transport.unaryWithMetadata(
            TestMathMethods.echo, TestNumberMessage(7), options: CallOptions())
        #expect(response.message.value == 7)
        #expect(response.initialMetadata.isEmpty)
        #expect(response.trailingMetadata.isEmpty)
    }

    @Test func givenAClientStreamingCallWhenAskedWithMetadataThenTheSumComesBack() async throws {
        let (requests, sender) = AsyncStream<TestNumberMessage>.makeStream()
        for value in [1, 2, 3] as [Int64] { sender.yield(TestNumberMessage(value)) }
        sender.finish()
        let response: ClientResponse<TestNumberMessage> = try await transport.clientStreamingWithMetadata(
            TestMathMethods.sum, requests, options: CallOptions())
        #expect(response.message.value == 6)
    }

    @Test func givenAStreamingCallThenItsInitialMetadataIsReadyBeforeAnyMessage() async throws {
        let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
            TestMathMethods.countTo, TestNumberMessage(3), options: CallOptions())
        #expect(try await responses.initialMetadata.isEmpty)
        var count = 0
        for try await _ in responses { count += 1 }
        #expect(count == 3)
        #expect(responses.metadata.hasEnded)
    }

    @Test func givenAFailedCallThenTheTrailingMetadataIsTheStatusMetadata() async throws {
        let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
            TestMathMethods.refuse, TestNumberMessage(1), options: CallOptions())
        await #expect(throws: RPCError.self) { for try await _ in responses {} }
        #expect(responses.trailingMetadata["x-decision"] == "deny")
    }

    @Test func givenAnInterceptorThatWrapsTheResponsesThenTheMetadataStillArrives() async throws {
        let intercepted = InterceptedClientTransport(wrapping: transport, interceptors: [CompletionObserver()])
        let responses: ResponseStream<TestNumberMessage> = try await intercepted.serverStreaming(
            TestMathMethods.refuse, TestNumberMessage(1), options: CallOptions())
        await #expect(throws: RPCError.self) { for try await _ in responses {} }
        #expect(responses.trailingMetadata["x-decision"] == "deny")
    }

    @Test func givenAStreamBuiltFromPlainMessagesThenItsMetadataIsEmptyAndComplete() async throws {
        let stream = ResponseStream(AsyncStream<Int> { continuation in
            continuation.yield(1)
            continuation.finish()
        })
        #expect(try await stream.initialMetadata.isEmpty)
        #expect(stream.metadata.hasEnded)
    }

    @Test func givenMetadataRecordedLaterThenAWaitingReaderGetsIt() async throws {
        let metadata = ResponseMetadata()
        let reader = Task { try await metadata.initial }
        metadata.recordInitial(["x-echo": "yes"])
        #expect(try await reader.value["x-echo"] == "yes")
        metadata.recordTrailing(["x-end": "done"])
        #expect(metadata.trailing["x-end"] == "done")
    }

    @Test func givenAReaderWaitingForHeadersWhenItIsCancelledThenItSeesCancelled() async throws {
        let metadata = ResponseMetadata()
        let reader = Task { try await metadata.initial }
        reader.cancel()
        let error = await #expect(throws: RPCError.self) { try await reader.value }
        #expect(error?.code == .cancelled)
    }
}

/// Wraps every call's responses with `onCompletion`, as logging interceptors do.
private struct CompletionObserver: ClientInterceptor {
    func intercept(
        _ method: MethodDescriptor,
        requests: RequestStream<[UInt8]>,
        options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        try await next(requests, options).onCompletion { _ in }
    }
}
