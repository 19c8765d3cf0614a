import ProtobufWire
import RPCCore
import Synchronization
import Testing

// Interceptors in the RPC core: the server chain around every known method (order, rejection, metadata,
// wrapped streams, how calls end) and the client chain in front of a transport, through InProcessTransport
// with the hand-written Math and Calculator services of RPCCoreTests.swift.

/// What test interceptors saw, in order, readable while calls are still running.
final class InterceptorEvents: Sendable {
    private let entries = Mutex<[String]>([])
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    /// Everything recorded so far.
    var all: [String] { entries.withLock { $0 } }

    func record(_ entry: String) {
        entries.withLock { $0.append(entry) }
        continuation.yield(entry)
    }

    /// Waits until an entry starting with `prefix` is recorded and returns it (nil if none ever is).
    func waitFor(prefix: String) async -> String? {
        if let seen = all.first(where: { $0.hasPrefix(prefix) }) { return seen }
        for await entry in stream where entry.hasPrefix(prefix) { return entry }
        return nil
    }
}

/// Records "<name> in: <path>" when a call reaches it and "<name> out: <STATUS>" when the rest of the chain ends.
struct RecordingServerInterceptor: ServerInterceptor {
    let name: String
    let events: InterceptorEvents

    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        events.record("\(name) in: \(context.method.path)")
        do {
            try await next(requests, responses, context)
            events.record("\(name) out: OK")
        } catch {
            events.record("\(name) out: \(RPCError(convertingHandlerError: error).code.name)")
            throw error
        }
    }
}

/// Rejects calls without "authorization: Bearer let-me-in" with UNAUTHENTICATED, before the handler runs.
struct BearerTokenServerInterceptor: ServerInterceptor {
    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        guard context.metadata["authorization"]?.stringValue == "Bearer let-me-in" else {
            throw RPCError(.unauthenticated, "missing or unknown bearer token")
        }
        try await next(requests, responses, context)
    }
}

/// Replaces the request's "x-number" with `number`, as an interceptor that resolves a caller would.
struct NumberHeaderServerInterceptor: ServerInterceptor {
    let number: Int

    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        var context = context
        context.metadata.removeAll(forKey: "x-number")
        context.metadata.add("\(number)", forKey: "x-number")
        try await next(requests, responses, context)
    }
}

/// Counts the messages each way and adds 1000 to every number the handler answers, by wrapping both streams.
struct MessageRewritingServerInterceptor: ServerInterceptor {
    let events: InterceptorEvents

    func intercept(
        requests: RequestStream<[UInt8]>, responses: ResponseWriter<[UInt8]>, context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        let events = events
        let observedRequests = RequestStream(
            requests.map { message in
                events.record("request \(try TestNumberMessage(serializedBytes: message).value)")
                return message
            })
        let rewrittenResponses = ResponseWriter<[UInt8]> { message in
            let number = try TestNumberMessage(serializedBytes: message).value
            events.record("response \(number)")
            try await responses.write(TestNumberMessage(number + 1000).serializedBytes())
        }
        try await next(observedRequests, rewrittenResponses, context)
    }
}

/// Adds "<key>: <value>" to every call's metadata, as an authentication interceptor adds a bearer token.
struct MetadataAddingClientInterceptor: ClientInterceptor {
    let key: String
    let value: String

    func intercept(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        var options = options
        options.metadata.add(value, forKey: key)
        return try await next(requests, options)
    }
}

/// Records "<name> start: <path>" and, when the call ends, "<name> end: <STATUS>".
struct RecordingClientInterceptor: ClientInterceptor {
    let name: String
    let events: InterceptorEvents

    func intercept(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        events.record("\(name) start: \(method.path)")
        let (name, events) = (name, events)
        do {
            return try await next(requests, options).onCompletion { status in
                events.record("\(name) end: \(status?.code.name ?? "OK")")
            }
        } catch {
            events.record("\(name) could not start: \(RPCError(convertingHandlerError: error))")
            throw error
        }
    }
}

/// Refuses every call before it reaches the transport.
struct RefusingClientInterceptor: ClientInterceptor {
    func intercept(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        throw RPCError(.failedPrecondition, "no consent on file for this device")
    }
}

@Suite("Interceptors", .timeLimit(.minutes(1)))
struct InterceptorTests {
    // MARK: server chain

    @Test func givenThreeServerInterceptorsTheFirstSeesTheCallFirstAndItsEndLast() async throws {
        let events = InterceptorEvents()
        let handlerEvents = TestHandlerEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService(events: handlerEvents)],
            interceptors: ["outer", "middle", "inner"].map { RecordingServerInterceptor(name: $0, events: events) })

        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.echo, TestNumberMessage(7), options: CallOptions())

        #expect(response.value == 7)
        #expect(
            events.all == [
                "outer in: /healthledger.test.Math/Echo", "middle in: /healthledger.test.Math/Echo",
                "inner in: /healthledger.test.Math/Echo", "inner out: OK", "middle out: OK", "outer out: OK",
            ])
    }

    @Test func aCallWithoutATokenIsRejectedBeforeItsHandlerRuns() async throws {
        let handlerRuns = Atomic(0)
        let service = ServiceDefinition(
            name: TestMathMethods.service,
            methods: [
                .unary(TestMathMethods.echo) { (request: TestNumberMessage, _) in
                    handlerRuns.add(1, ordering: .relaxed)
                    return request
                }
            ])
        let transport = InProcessTransport(services: [service], interceptors: [BearerTokenServerInterceptor()])

        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.echo, TestNumberMessage(1),
                options: CallOptions(metadata: ["authorization": "Bearer guess"]))
        }
        #expect(error == RPCError(.unauthenticated, "missing or unknown bearer token"))
        #expect(handlerRuns.load(ordering: .relaxed) == 0)

        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.echo, TestNumberMessage(2),
            options: CallOptions(metadata: ["authorization": "Bearer let-me-in"]))
        #expect(response.value == 2)
        #expect(handlerRuns.load(ordering: .relaxed) == 1)
    }

    @Test func metadataAnInterceptorChangesIsWhatTheHandlerSees() async throws {
        let transport = InProcessTransport(
            services: [makeTestMathService()], interceptors: [NumberHeaderServerInterceptor(number: 42)])
        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.readHeader, TestNumberMessage(), options: CallOptions(metadata: ["x-number": "5"]))
        #expect(response.value == 42)
    }

    @Test func anInterceptorCanObserveAndRewriteTheMessageStreams() async throws {
        let events = InterceptorEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService()], interceptors: [MessageRewritingServerInterceptor(events: events)])

        let responses: ResponseStream<TestNumberMessage> = try await transport.bidirectionalStreaming(
            TestMathMethods.echoEach, RPCCoreTests.typedMessages([1, 2, 3]), options: CallOptions())

        #expect(try await RPCCoreTests.collect(responses).map(\.value) == [1001, 1002, 1003])
        #expect(Set(events.all) == ["request 1", "request 2", "request 3", "response 1", "response 2", "response 3"])
        #expect(events.all.filter { $0.hasPrefix("request") } == ["request 1", "request 2", "request 3"])
    }

    @Test(arguments: [
        (TestMathMethods.echo, "OK"),
        (TestMathMethods.refuse, "PERMISSION_DENIED"),  // an RPCError thrown by the handler
        (TestMathMethods.crash, "UNKNOWN"),  // any other error thrown by the handler
        (TestMathMethods.answerTwice, "OK"),  // the handler succeeded; the client's INTERNAL is its own finding
    ])
    func theEndOfACallIsObservedWithItsStatus(method: MethodDescriptor, status: String) async throws {
        let events = InterceptorEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService()],
            interceptors: [RecordingServerInterceptor(name: "observer", events: events)])
        _ = try? await transport.unary(method, TestNumberMessage(1), options: CallOptions()) as TestNumberMessage
        #expect(await events.waitFor(prefix: "observer out: ") == "observer out: \(status)")
    }

    @Test func aCancelledCallIsObservedAsCancelled() async throws {
        let events = InterceptorEvents()
        let handlerEvents = TestHandlerEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService(events: handlerEvents)],
            interceptors: [RecordingServerInterceptor(name: "observer", events: events)])
        let call = Task {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.wait, TestNumberMessage(1), options: CallOptions())
        }
        #expect(await handlerEvents.waitFor("started"))
        call.cancel()
        #expect(await events.waitFor(prefix: "observer out: ") == "observer out: CANCELLED")
    }

    @Test func aCallPastItsDeadlineIsObservedAsTheHandlerSeesIt() async throws {
        let events = InterceptorEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService()],
            interceptors: [RecordingServerInterceptor(name: "observer", events: events)])
        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.wait, TestNumberMessage(1), options: CallOptions(timeout: .milliseconds(20)))
        }
        #expect(error?.code == .deadlineExceeded)
        // The handler is cancelled when the deadline passes; the interceptor around it sees that cancellation.
        #expect(await events.waitFor(prefix: "observer out: ") == "observer out: CANCELLED")
    }

    @Test func anUnknownMethodIsUnimplementedWithoutReachingTheInterceptors() async {
        let events = InterceptorEvents()
        let transport = InProcessTransport(
            services: [makeTestMathService()],
            interceptors: [RecordingServerInterceptor(name: "observer", events: events)])
        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                MethodDescriptor(service: TestMathMethods.service, method: "Divide", kind: .unary), TestNumberMessage(),
                options: CallOptions())
        }
        #expect(error?.code == .unimplemented)
        #expect(events.all.isEmpty)
    }

    @Test func theRouterWithoutInterceptorsServesTheMethodsAsTheyAre() async throws {
        let router = ServiceRouter(services: [makeTestMathService()])
        #expect(try router.method(forPath: TestMathMethods.echo.path).descriptor == TestMathMethods.echo)
    }

    // MARK: client chain

    @Test func metadataAClientInterceptorAddsReachesTheServer() async throws {
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeTestMathService()]),
            interceptors: [MetadataAddingClientInterceptor(key: "x-number", value: "17")])
        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.readHeader, TestNumberMessage(), options: CallOptions())
        #expect(response.value == 17)
    }

    @Test func aGeneratedShapeClientGetsABearerTokenWithoutChanges() async throws {
        let server = InProcessTransport(
            services: [TestCalculator().serviceDefinition], interceptors: [BearerTokenServerInterceptor()])
        let withoutToken = TestCalculatorClient(transport: server)
        let withToken = TestCalculatorClient(
            transport: InterceptedClientTransport(
                wrapping: server,
                interceptors: [MetadataAddingClientInterceptor(key: "authorization", value: "Bearer let-me-in")]))

        let error = await RPCCoreTests.expectRPCError { _ = try await withoutToken.double(TestNumberMessage(4)) }
        #expect(error?.code == .unauthenticated)
        #expect(try await withToken.double(TestNumberMessage(4)).value == 8)
        #expect(try await RPCCoreTests.collect(withToken.countDown(TestNumberMessage(3))).map(\.value) == [3, 2, 1])
        #expect(try await withToken.total(RPCCoreTests.typedMessages([1, 2, 3])).value == 6)
        #expect(
            try await RPCCoreTests.collect(withToken.negateEach(RPCCoreTests.typedMessages([5, 6]))).map(\.value)
                == [-5, -6])
    }

    @Test func clientInterceptorsRunInOrderAndSeeTheStatusEachCallEndsWith() async throws {
        let events = InterceptorEvents()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeTestMathService()]),
            interceptors: [
                RecordingClientInterceptor(name: "outer", events: events),
                RecordingClientInterceptor(name: "inner", events: events),
            ])

        let _: TestNumberMessage = try await transport.unary(
            TestMathMethods.echo, TestNumberMessage(1), options: CallOptions())
        #expect(
            events.all == [
                "outer start: /healthledger.test.Math/Echo", "inner start: /healthledger.test.Math/Echo",
                "inner end: OK", "outer end: OK",
            ])

        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.refuse, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error?.code == .permissionDenied)
        #expect(events.all.suffix(2) == ["inner end: PERMISSION_DENIED", "outer end: PERMISSION_DENIED"])
    }

    @Test func responsesDroppedBeforeTheirEndAreObservedAsCancelled() async throws {
        let events = InterceptorEvents()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeTestMathService()]),
            interceptors: [RecordingClientInterceptor(name: "observer", events: events)])
        do {
            let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
                TestMathMethods.countForever, TestNumberMessage(), options: CallOptions())
            var iterator = responses.makeAsyncIterator()
            #expect(try await iterator.next()?.value == 1)
        }
        #expect(await events.waitFor(prefix: "observer end: ") == "observer end: CANCELLED")
    }

    @Test func aCallThatCannotStartIsObservedAtOnce() async {
        let events = InterceptorEvents()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeTestMathService()]),
            interceptors: [
                RecordingClientInterceptor(name: "observer", events: events),
                MetadataAddingClientInterceptor(key: "Bad Key", value: "x"),
            ])
        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.echo, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error?.code == .internalError)
        #expect(events.all.last?.hasPrefix("observer could not start: INTERNAL") == true)
    }

    @Test func aClientInterceptorCanRefuseACallBeforeItIsSent() async {
        let serverEvents = InterceptorEvents()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(
                services: [makeTestMathService()],
                interceptors: [RecordingServerInterceptor(name: "server", events: serverEvents)]),
            interceptors: [RefusingClientInterceptor()])
        let error = await RPCCoreTests.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.echo, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error == RPCError(.failedPrecondition, "no consent on file for this device"))
        #expect(serverEvents.all.isEmpty)
    }
}
