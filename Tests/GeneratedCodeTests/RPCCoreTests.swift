import ProtobufWire
import RPCCore
import Synchronization
import Testing

// Tests for the RPC core: status codes, metadata, and the four call kinds end to end through
// InProcessTransport, with a hand-written message and service standing in for generated code.

/// A one-field message, written by hand the way the generator writes messages: `int64 value = 1;`.
struct TestNumberMessage: ProtoMessage {
    static let protoMessageName = "healthledger.test.Number"
    var value: Int64 = 0
    var unknownFields = UnknownFields()

    init() {}

    init(_ value: Int64) { self.value = value }

    func encodeFields(to writer: inout ProtoWriter) {
        if value != 0 { writer.writeInt64(value, field: 1) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: value = try reader.readInt64(tag, field: "healthledger.test.Number.value")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// The methods of a small arithmetic service, as a generated `...Methods` enum would list them.
enum TestMathMethods {
    static let service = "healthledger.test.Math"
    static let echo = MethodDescriptor(service: service, method: "Echo", kind: .unary)
    static let countTo = MethodDescriptor(service: service, method: "CountTo", kind: .serverStreaming)
    static let sum = MethodDescriptor(service: service, method: "Sum", kind: .clientStreaming)
    static let echoEach = MethodDescriptor(service: service, method: "EchoEach", kind: .bidirectionalStreaming)
    static let refuse = MethodDescriptor(service: service, method: "Refuse", kind: .unary)
    static let crash = MethodDescriptor(service: service, method: "Crash", kind: .unary)
    static let wait = MethodDescriptor(service: service, method: "Wait", kind: .unary)
    static let countForever = MethodDescriptor(service: service, method: "CountForever", kind: .serverStreaming)
    static let readHeader = MethodDescriptor(service: service, method: "ReadHeader", kind: .unary)
    static let answerTwice = MethodDescriptor(service: service, method: "AnswerTwice", kind: .unary)
    static let answerNever = MethodDescriptor(service: service, method: "AnswerNever", kind: .unary)
    static let answerGarbage = MethodDescriptor(service: service, method: "AnswerGarbage", kind: .unary)
}

/// A plain Swift error, not an RPCError, for the UNKNOWN conversion.
struct TestLedgerOffline: Error, CustomStringConvertible {
    var description: String { "ledger file is offline" }
}

/// Records what handlers went through, so tests can wait for "started" and "cancelled".
final class TestHandlerEvents: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    let written = Mutex(0)

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func record(_ event: String) { continuation.yield(event) }

    /// Waits for `event`, skipping others.
    func waitFor(_ event: String) async -> Bool {
        for await seen in stream where seen == event { return true }
        return false
    }
}

/// The service definition a generated `serviceDefinition` would build.
func makeTestMathService(events: TestHandlerEvents = TestHandlerEvents()) -> ServiceDefinition {
    ServiceDefinition(
        name: TestMathMethods.service,
        methods: [
            .unary(TestMathMethods.echo) { (request: TestNumberMessage, _) in request },
            .serverStreaming(TestMathMethods.countTo) {
                (request: TestNumberMessage, responses: ResponseWriter<TestNumberMessage>, _) in
                for number in stride(from: 1, through: min(request.value, 100), by: 1) {
                    try await responses.write(TestNumberMessage(number))
                }
                if request.value > 100 { throw RPCError(.outOfRange, "cannot count past 100") }
            },
            .clientStreaming(TestMathMethods.sum) { (requests: RequestStream<TestNumberMessage>, _) in
                var total: Int64 = 0
                for try await number in requests { total += number.value }
                return TestNumberMessage(total)
            },
            .bidirectionalStreaming(TestMathMethods.echoEach) {
                (requests: RequestStream<TestNumberMessage>, responses: ResponseWriter<TestNumberMessage>, _) in
                for try await number in requests { try await responses.write(number) }
            },
            .unary(TestMathMethods.refuse) { (_: TestNumberMessage, _) -> TestNumberMessage in
                throw RPCError(.permissionDenied, "no grant covers labs", metadata: ["x-decision": "deny"])
            },
            .unary(TestMathMethods.crash) { (_: TestNumberMessage, _) -> TestNumberMessage in
                throw TestLedgerOffline()
            },
            // Byte-level, so that it starts (and records it) even when the call is cancelled before a request
            // could be read.
            ServerMethod(descriptor: TestMathMethods.wait) { _, responses, _ in
                events.record("started")
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    events.record("cancelled")
                    throw error
                }
                try await responses.write(TestNumberMessage().serializedBytes())
            },
            .serverStreaming(TestMathMethods.countForever) {
                (_: TestNumberMessage, responses: ResponseWriter<TestNumberMessage>, _) in
                events.record("started")
                var number: Int64 = 0
                do {
                    while true {
                        number += 1
                        try await responses.write(TestNumberMessage(number))
                        events.written.withLock { $0 = Int(number) }
                    }
                } catch {
                    events.record("cancelled")
                    throw error
                }
            },
            .unary(TestMathMethods.readHeader) { (_: TestNumberMessage, context: ServerContext) in
                events.record("peer \(context.peer) method \(context.method.path)")
                let text = context.metadata["x-number"]?.stringValue ?? "0"
                return TestNumberMessage(Int64(text) ?? -1)
            },
            ServerMethod(descriptor: TestMathMethods.answerTwice) { _, responses, _ in
                try await responses.write(TestNumberMessage(1).serializedBytes())
                try await responses.write(TestNumberMessage(2).serializedBytes())
            },
            ServerMethod(descriptor: TestMathMethods.answerNever) { _, _, _ in },
            ServerMethod(descriptor: TestMathMethods.answerGarbage) { _, responses, _ in
                try await responses.write([0x08])  // field 1 varint, value missing
            },
        ])
}

// The shape the generator emits for a service (see the contract's "Generated per service"), written by hand
// so that a change to RPCCore that breaks generated code fails here first.

/// A service protocol as generated: one requirement per RPC.
protocol TestCalculatorService: Sendable {
    func double(request: TestNumberMessage, context: ServerContext) async throws -> TestNumberMessage
    func countDown(
        request: TestNumberMessage, responses: ResponseWriter<TestNumberMessage>, context: ServerContext
    ) async throws
    func total(requests: RequestStream<TestNumberMessage>, context: ServerContext) async throws -> TestNumberMessage
    func negateEach(
        requests: RequestStream<TestNumberMessage>, responses: ResponseWriter<TestNumberMessage>,
        context: ServerContext) async throws
}

/// The generated method descriptors.
enum TestCalculatorMethods {
    static let double = MethodDescriptor(service: "healthledger.test.Calculator", method: "Double", kind: .unary)
    static let countDown = MethodDescriptor(
        service: "healthledger.test.Calculator", method: "CountDown", kind: .serverStreaming)
    static let total = MethodDescriptor(
        service: "healthledger.test.Calculator", method: "Total", kind: .clientStreaming)
    static let negateEach = MethodDescriptor(
        service: "healthledger.test.Calculator", method: "NegateEach", kind: .bidirectionalStreaming)
    static let all = [double, countDown, total, negateEach]
}

extension TestCalculatorService {
    /// The generated service definition.
    var serviceDefinition: ServiceDefinition {
        ServiceDefinition(
            name: "healthledger.test.Calculator",
            methods: [
                .unary(TestCalculatorMethods.double) { try await self.double(request: $0, context: $1) },
                .serverStreaming(TestCalculatorMethods.countDown) {
                    try await self.countDown(request: $0, responses: $1, context: $2)
                },
                .clientStreaming(TestCalculatorMethods.total) { try await self.total(requests: $0, context: $1) },
                .bidirectionalStreaming(TestCalculatorMethods.negateEach) {
                    try await self.negateEach(requests: $0, responses: $1, context: $2)
                },
            ])
    }
}

/// The generated client.
struct TestCalculatorClient<Transport: ClientTransport>: Sendable {
    let transport: Transport

    init(transport: Transport) { self.transport = transport }

    func double(_ request: TestNumberMessage, options: CallOptions = CallOptions()) async throws -> TestNumberMessage {
        try await transport.unary(TestCalculatorMethods.double, request, options: options)
    }

    func countDown(
        _ request: TestNumberMessage, options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<TestNumberMessage> {
        try await transport.serverStreaming(TestCalculatorMethods.countDown, request, options: options)
    }

    func total<Requests: AsyncSequence & Sendable>(
        _ requests: Requests, options: CallOptions = CallOptions()
    ) async throws -> TestNumberMessage where Requests.Element == TestNumberMessage {
        try await transport.clientStreaming(TestCalculatorMethods.total, requests, options: options)
    }

    func negateEach<Requests: AsyncSequence & Sendable>(
        _ requests: Requests, options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<TestNumberMessage> where Requests.Element == TestNumberMessage {
        try await transport.bidirectionalStreaming(TestCalculatorMethods.negateEach, requests, options: options)
    }
}

/// A calculator implemented the way an application implements a generated protocol.
struct TestCalculator: TestCalculatorService {
    func double(request: TestNumberMessage, context: ServerContext) async throws -> TestNumberMessage {
        TestNumberMessage(request.value * 2)
    }

    func countDown(
        request: TestNumberMessage, responses: ResponseWriter<TestNumberMessage>, context: ServerContext
    ) async throws {
        for number in stride(from: request.value, through: 1, by: -1) {
            try await responses.write(TestNumberMessage(number))
        }
    }

    func total(requests: RequestStream<TestNumberMessage>, context: ServerContext) async throws -> TestNumberMessage {
        var total: Int64 = 0
        for try await number in requests { total += number.value }
        return TestNumberMessage(total)
    }

    func negateEach(
        requests: RequestStream<TestNumberMessage>, responses: ResponseWriter<TestNumberMessage>,
        context: ServerContext
    ) async throws {
        for try await number in requests { try await responses.write(TestNumberMessage(-number.value)) }
    }
}

@Suite("RPC core", .timeLimit(.minutes(1)))
struct RPCCoreTests {
    let transport = InProcessTransport(services: [makeTestMathService()])

    // MARK: status codes and errors

    @Test func statusCodesHaveTheGRPCNumbersAndNames() {
        let expected: [(RPCError.Code, Int, String)] = [
            (.ok, 0, "OK"), (.cancelled, 1, "CANCELLED"), (.unknown, 2, "UNKNOWN"),
            (.invalidArgument, 3, "INVALID_ARGUMENT"), (.deadlineExceeded, 4, "DEADLINE_EXCEEDED"),
            (.notFound, 5, "NOT_FOUND"), (.alreadyExists, 6, "ALREADY_EXISTS"),
            (.permissionDenied, 7, "PERMISSION_DENIED"), (.resourceExhausted, 8, "RESOURCE_EXHAUSTED"),
            (.failedPrecondition, 9, "FAILED_PRECONDITION"), (.aborted, 10, "ABORTED"),
            (.outOfRange, 11, "OUT_OF_RANGE"), (.unimplemented, 12, "UNIMPLEMENTED"),
            (.internalError, 13, "INTERNAL"), (.unavailable, 14, "UNAVAILABLE"), (.dataLoss, 15, "DATA_LOSS"),
            (.unauthenticated, 16, "UNAUTHENTICATED"),
        ]
        #expect(RPCError.Code.allCases.count == 17)
        for (code, number, name) in expected {
            #expect(code.rawValue == number)
            #expect(code.name == name)
            #expect(RPCError.Code(rawValue: number) == code)
        }
        #expect(RPCError.Code(rawValue: 17) == nil)
        #expect(RPCError.Code(rawValue: -1) == nil)
    }

    @Test func anErrorPrintsAsCodeNameThenMessage() {
        let error = RPCError(.invalidArgument, "healthledger.v1.Grant.grantee: length prefix exceeds input at byte 12")
        #expect("\(error)" == "INVALID_ARGUMENT: healthledger.v1.Grant.grantee: length prefix exceeds input at byte 12")
        #expect("\(RPCError(code: .unavailable, message: ""))" == "UNAVAILABLE")
    }

    @Test func handlerErrorsBecomeStatuses() {
        let denied = RPCError(.permissionDenied, "no")
        #expect(RPCError(convertingHandlerError: denied) == denied)
        #expect(RPCError(convertingHandlerError: TestLedgerOffline()) == RPCError(.unknown, "ledger file is offline"))
        #expect(RPCError(convertingHandlerError: CancellationError()).code == .cancelled)
    }

    // MARK: metadata

    @Test func metadataKeepsOrderAndRepeatsAndLowercasesKeys() {
        var metadata: Metadata = ["X-Request-ID": "abc", "accept-purpose": "treatment"]
        metadata.add("emergency", forKey: "Accept-Purpose")
        metadata.add([0xDE, 0xAD], forKey: "trace-bin")
        #expect(metadata.map(\.key) == ["x-request-id", "accept-purpose", "accept-purpose", "trace-bin"])
        #expect(metadata["ACCEPT-PURPOSE"] == .string("treatment"))
        #expect(metadata.values(forKey: "accept-purpose") == ["treatment", "emergency"])
        #expect(metadata["trace-bin"]?.binaryValue == [0xDE, 0xAD])
        #expect(metadata["missing"] == nil)
        #expect(metadata.count == 4)
        metadata.removeAll(forKey: "accept-purpose")
        #expect(metadata.count == 2)
        #expect(metadata.description == "[x-request-id: abc, trace-bin: dead]")
        #expect(throws: Never.self) { try metadata.validate() }
    }

    @Test func metadataKeysFollowTheGRPCHeaderNameGrammar() {
        #expect(Metadata.isValidKey("x-request_id.v2"))
        #expect(Metadata.isValidKey("0key"))
        #expect(!Metadata.isValidKey(""))
        #expect(!Metadata.isValidKey("has space"))
        #expect(!Metadata.isValidKey("Upper"))  // only after `add` lowercases it
        #expect(!Metadata.isValidKey("colon:"))
        #expect(!Metadata.isValidKey("ümlaut"))
        #expect(Metadata.isValidStringValue("Bearer abc.def ~"))
        #expect(!Metadata.isValidStringValue("line\nbreak"))
        #expect(!Metadata.isValidStringValue("é"))
    }

    @Test(arguments: [
        (["bad key": "v"] as Metadata, "metadata key \"bad key\" is not a valid gRPC header name (0-9 a-z _ - . only)"),
        (["x-note": "tab\there"] as Metadata, "metadata value for \"x-note\" is not printable ASCII"),
        (["trace-bin": "text"] as Metadata, "metadata key \"trace-bin\" ends in \"-bin\" but has a text value"),
        (["trace": .binary([1])] as Metadata, "metadata key \"trace\" has a binary value but does not end in \"-bin\""),
    ])
    func invalidMetadataIsReportedAsInternal(metadata: Metadata, message: String) {
        #expect(throws: RPCError(.internalError, message)) { try metadata.validate() }
    }

    @Test func aCallWithInvalidMetadataDoesNotStart() async {
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.echo, TestNumberMessage(1), options: CallOptions(metadata: ["bad key": "v"]))
        }
        #expect(error?.code == .internalError)
    }

    @Test func methodDescriptorPathIsServiceSlashMethod() {
        #expect(TestMathMethods.echo.path == "/healthledger.test.Math/Echo")
    }

    // MARK: the four call kinds

    @Test func unaryEchoesTheRequest() async throws {
        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.echo, TestNumberMessage(42), options: CallOptions())
        #expect(response.value == 42)
    }

    @Test func serverStreamingSendsEveryMessage() async throws {
        let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
            TestMathMethods.countTo, TestNumberMessage(100), options: CallOptions())
        #expect(try await Self.collect(responses).map(\.value) == Array(1...100))
    }

    @Test func clientStreamingSumsEveryRequest() async throws {
        let (requests, sender) = AsyncStream.makeStream(of: TestNumberMessage.self)
        for number in 1...50 { sender.yield(TestNumberMessage(Int64(number))) }
        sender.finish()
        let total: TestNumberMessage = try await transport.clientStreaming(
            TestMathMethods.sum, requests, options: CallOptions())
        #expect(total.value == 1275)
    }

    @Test func bidirectionalStreamingAnswersEachRequestBeforeTheNextIsSent() async throws {
        let (requests, sender) = AsyncStream.makeStream(of: TestNumberMessage.self)
        let responses: ResponseStream<TestNumberMessage> = try await transport.bidirectionalStreaming(
            TestMathMethods.echoEach, requests, options: CallOptions())
        var iterator = responses.makeAsyncIterator()
        for number in Int64(1)...5 {
            sender.yield(TestNumberMessage(number))
            #expect(try await iterator.next()?.value == number)
        }
        sender.finish()
        #expect(try await iterator.next() == nil)
    }

    @Test func concurrentStreamingCallsKeepTheirOwnMessagesInOrder() async throws {
        let transport = self.transport
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in Int64(0)..<50 {
                group.addTask {
                    let numbers = (0..<300).map { call * 1000 + $0 }
                    let responses: ResponseStream<TestNumberMessage> = try await transport.bidirectionalStreaming(
                        TestMathMethods.echoEach, Self.typedMessages(numbers), options: CallOptions())
                    #expect(try await Self.collect(responses).map(\.value) == numbers)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func handlersSeeMetadataPeerAndMethod() async throws {
        let events = TestHandlerEvents()
        let transport = InProcessTransport(services: [makeTestMathService(events: events)])
        let response: TestNumberMessage = try await transport.unary(
            TestMathMethods.readHeader, TestNumberMessage(), options: CallOptions(metadata: ["X-Number": "7"]))
        #expect(response.value == 7)
        #expect(await events.waitFor("peer in-process method /healthledger.test.Math/ReadHeader"))
    }

    @Test func aGeneratedShapeClientReachesAGeneratedShapeServiceForAllFourKinds() async throws {
        let client = TestCalculatorClient(
            transport: InProcessTransport(services: [TestCalculator().serviceDefinition]))
        #expect(try await client.double(TestNumberMessage(21)).value == 42)
        #expect(try await Self.collect(client.countDown(TestNumberMessage(3))).map(\.value) == [3, 2, 1])
        let numbers = Self.typedMessages([1, 2, 3, 4])
        #expect(try await client.total(numbers).value == 10)
        #expect(try await Self.collect(client.negateEach(Self.typedMessages([5, -6]))).map(\.value) == [-5, 6])
    }

    // MARK: failures

    @Test func aStatusThrownByAHandlerReachesTheClient() async {
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.refuse, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error == RPCError(.permissionDenied, "no grant covers labs", metadata: ["x-decision": "deny"]))
    }

    @Test func anyOtherHandlerErrorReachesTheClientAsUnknown() async {
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.crash, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error == RPCError(.unknown, "ledger file is offline"))
    }

    @Test func messagesWrittenBeforeAFailureArriveBeforeTheStatus() async throws {
        let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
            TestMathMethods.countTo, TestNumberMessage(103), options: CallOptions())
        var received: [Int64] = []
        let error = await Self.expectRPCError {
            for try await number in responses { received.append(number.value) }
        }
        #expect(received == Array(1...100))
        #expect(error == RPCError(.outOfRange, "cannot count past 100"))
    }

    @Test func anUnknownMethodIsUnimplemented() async {
        let missing = MethodDescriptor(service: TestMathMethods.service, method: "Divide", kind: .unary)
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(missing, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error == RPCError(.unimplemented, "unknown method /healthledger.test.Math/Divide"))
    }

    @Test func anUnknownServiceIsUnimplemented() async {
        let missing = MethodDescriptor(service: "healthledger.test.Physics", method: "Fall", kind: .unary)
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(missing, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error == RPCError(.unimplemented, "unknown service healthledger.test.Physics"))
    }

    @Test func theRouterRejectsMalformedPaths() throws {
        let router = ServiceRouter(services: [makeTestMathService()])
        #expect(throws: RPCError(.unimplemented, "unknown method healthledger.test.Math/Echo")) {
            try router.method(forPath: "healthledger.test.Math/Echo")
        }
        #expect(throws: RPCError(.unimplemented, "unknown method /healthledger.test.Math/Echo/x")) {
            try router.method(forPath: "/healthledger.test.Math/Echo/x")
        }
        #expect(try router.method(forPath: "/healthledger.test.Math/Echo").descriptor == TestMathMethods.echo)
        #expect(router.serviceNames == ["healthledger.test.Math"])
    }

    @Test func aRequestThatDoesNotDecodeIsAnInvalidArgument() async throws {
        let responses = try await transport.call(
            TestMathMethods.echo, requests: RequestStream(Self.rawMessages([[0x08]])), options: CallOptions())
        let error = await Self.expectRPCError { _ = try await Self.collect(responses) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("healthledger.test.Number.value") == true)
    }

    @Test func aUnaryCallWithoutARequestIsInternal() async throws {
        let responses = try await transport.call(
            TestMathMethods.echo, requests: RequestStream(Self.rawMessages([])), options: CallOptions())
        let error = await Self.expectRPCError { _ = try await Self.collect(responses) }
        #expect(error == RPCError(.internalError, "Half-closed without a request"))
    }

    @Test func aUnaryCallWithTwoRequestsIsInternal() async throws {
        let two = Self.rawMessages([TestNumberMessage(1).serializedBytes(), TestNumberMessage(2).serializedBytes()])
        let responses = try await transport.call(
            TestMathMethods.echo, requests: RequestStream(two), options: CallOptions())
        let error = await Self.expectRPCError { _ = try await Self.collect(responses) }
        #expect(error == RPCError(.internalError, "Too many requests"))
    }

    @Test func aUnaryCallAnsweredTwiceOrNeverIsInternal() async {
        let twice = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.answerTwice, TestNumberMessage(1), options: CallOptions())
        }
        #expect(twice == RPCError(.internalError, "More than one value received for unary call"))
        let never = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.answerNever, TestNumberMessage(1), options: CallOptions())
        }
        #expect(never == RPCError(.internalError, "No value received for unary call"))
    }

    @Test func aResponseThatDoesNotDecodeIsInternal() async {
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.answerGarbage, TestNumberMessage(1), options: CallOptions())
        }
        #expect(error?.code == .internalError)
        #expect(error?.message.hasPrefix("failed to decode response: healthledger.test.Number.value") == true)
    }

    @Test func aFailingRequestStreamCancelsTheCall() async {
        let (requests, sender) = AsyncThrowingStream.makeStream(of: TestNumberMessage.self)
        sender.yield(TestNumberMessage(1))
        sender.finish(throwing: TestLedgerOffline())
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.clientStreaming(
                TestMathMethods.sum, requests, options: CallOptions())
        }
        #expect(error == RPCError(.cancelled, "the client's request stream failed: ledger file is offline"))
    }

    // MARK: deadlines and cancellation

    @Test func aCallPastItsDeadlineFailsAndItsHandlerIsCancelled() async {
        let events = TestHandlerEvents()
        let transport = InProcessTransport(services: [makeTestMathService(events: events)])
        let error = await Self.expectRPCError {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.wait, TestNumberMessage(1), options: CallOptions(timeout: .milliseconds(50)))
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(error?.message == "deadline exceeded after 0.05 seconds")
        #expect(await events.waitFor("cancelled"))
    }

    @Test func cancellingTheClientTaskCancelsTheHandler() async {
        let events = TestHandlerEvents()
        let transport = InProcessTransport(services: [makeTestMathService(events: events)])
        let call = Task {
            let _: TestNumberMessage = try await transport.unary(
                TestMathMethods.wait, TestNumberMessage(1), options: CallOptions())
        }
        #expect(await events.waitFor("started"))
        call.cancel()
        #expect(await events.waitFor("cancelled"))
        let result = await call.result
        #expect(throws: RPCError(.cancelled, "the call was cancelled")) { try result.get() }
    }

    @Test func droppingAResponseStreamCancelsTheHandler() async throws {
        let events = TestHandlerEvents()
        let transport = InProcessTransport(services: [makeTestMathService(events: events)])
        do {
            let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
                TestMathMethods.countForever, TestNumberMessage(), options: CallOptions())
            var iterator = responses.makeAsyncIterator()
            #expect(try await iterator.next()?.value == 1)
        }
        #expect(await events.waitFor("cancelled"))
    }

    @Test func aSlowReaderHoldsBackAFastWriter() async throws {
        let events = TestHandlerEvents()
        let transport = InProcessTransport(services: [makeTestMathService(events: events)])
        let responses: ResponseStream<TestNumberMessage> = try await transport.serverStreaming(
            TestMathMethods.countForever, TestNumberMessage(), options: CallOptions())
        #expect(await events.waitFor("started"))
        try await Task.sleep(for: .milliseconds(100))
        // The writer waits once the in-flight buffer is full instead of queueing without bound.
        #expect(events.written.withLock { $0 } <= 16)
        var iterator = responses.makeAsyncIterator()
        for expected in Int64(1)...100 { #expect(try await iterator.next()?.value == expected) }
    }

    /// Calls `body` and returns the RPCError it threw; records an issue when it throws something else or nothing.
    static func expectRPCError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            Issue.record("expected an RPCError, got success")
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("expected an RPCError, got \(error)")
        }
        return nil
    }

    /// Reads a whole response stream.
    static func collect<Message>(_ responses: ResponseStream<Message>) async throws -> [Message] {
        var messages: [Message] = []
        for try await message in responses { messages.append(message) }
        return messages
    }

    /// A sendable sequence of numbers as messages.
    static func typedMessages(_ numbers: [Int64]) -> AsyncStream<TestNumberMessage> {
        let (stream, sender) = AsyncStream.makeStream(of: TestNumberMessage.self)
        for number in numbers { sender.yield(TestNumberMessage(number)) }
        sender.finish()
        return stream
    }

    /// A sendable sequence of already-encoded messages, to send bytes no typed client would.
    static func rawMessages(_ messages: [[UInt8]]) -> AsyncStream<[UInt8]> {
        let (stream, sender) = AsyncStream.makeStream(of: [UInt8].self)
        for message in messages { sender.yield(message) }
        sender.finish()
        return stream
    }
}
