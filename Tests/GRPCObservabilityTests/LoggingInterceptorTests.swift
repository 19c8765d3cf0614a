import GRPCObservability
import Logging
import RPCCore
import Testing

@Suite("Logging interceptors", .timeLimit(.minutes(1)))
struct LoggingInterceptorTests {
    // MARK: server

    @Test func aServedCallIsLoggedOnceWithItsMethodStatusDurationAndPeer() async throws {
        let logs = CapturedLogs()
        let transport = InProcessTransport(
            services: [makeVitalsService()],
            interceptors: [LoggingServerInterceptor(logger: logs.logger(metadata: ["server": "ledger-1"]))])

        #expect(try await callVitals(transport, VitalsMethods.record, [[72]]).get() == [[72]])

        let lines = logs.all
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(line.level == .info)
        #expect(line.message == "gRPC call served")
        #expect(line.field("rpc.system") == "grpc")
        #expect(line.field("rpc.service") == "healthledger.test.Vitals")
        #expect(line.field("rpc.method") == "Record")
        #expect(line.field("rpc.grpc.status_code") == "0")
        #expect(line.field("rpc.grpc.status_message") == nil)
        #expect(line.field("rpc.peer") == "in-process")
        #expect(line.field("server") == "ledger-1")  // the logger's own metadata is kept
        let milliseconds = try #require(line.field("rpc.duration_ms").flatMap(Double.init))
        #expect(milliseconds >= 0 && milliseconds < 10_000)
    }

    @Test(arguments: [
        (VitalsMethods.readOthers, Logger.Level.warning, "7", "no grant covers vitals of another patient"),
        (VitalsMethods.reindex, Logger.Level.error, "13", "reading index is inconsistent"),
    ])
    func aFailedCallIsLoggedAtTheLevelOfItsStatusClass(
        method: MethodDescriptor, level: Logger.Level, code: String, message: String
    ) async throws {
        let logs = CapturedLogs()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [LoggingServerInterceptor(logger: logs.logger())])

        _ = await callVitals(transport, method, [[1]])

        let line = try #require(logs.all.first)
        #expect(line.level == level)
        #expect(line.field("rpc.grpc.status_code") == code)
        #expect(line.field("rpc.grpc.status_message") == message)
    }

    @Test func givenAPatientsTokenAndIdentifierOnlyAllowListedMetadataIsLogged() async throws {
        let logs = CapturedLogs()
        let transport = InProcessTransport(
            services: [makeVitalsService()],
            interceptors: [LoggingServerInterceptor(logger: logs.logger(), loggedMetadataKeys: ["X-Request-ID"])])
        let metadata: Metadata = [
            "authorization": "Bearer eyJ-secret-token", "x-patient-id": "patient-4711", "x-request-id": "req-1",
        ]
        let reading = Array("blood glucose 5.4 mmol/L for patient-4711".utf8)

        _ = try await callVitals(transport, VitalsMethods.record, [reading], metadata: metadata).get()

        let line = try #require(logs.all.first)
        #expect(line.field("rpc.grpc.request.metadata.x-request-id") == "[\"req-1\"]")
        let everything = "\(line.message) \(line.metadata)"
        #expect(!everything.contains("secret"))
        #expect(!everything.contains("patient-4711"))
        #expect(!everything.contains("glucose"))
        #expect(
            line.metadata.keys.filter { $0.hasPrefix("rpc.grpc.request.metadata.") } == [
                "rpc.grpc.request.metadata.x-request-id"
            ])
    }

    @Test func aHandlerThatReturnsAfterItsCallWasTornDownIsLoggedAsCancelled() async throws {
        let logs = CapturedLogs()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [LoggingServerInterceptor(logger: logs.logger())])
        let (requests, sender) = AsyncStream.makeStream(of: [UInt8].self)
        sender.yield([1])
        sender.finish()

        let error = await #expect(throws: RPCError.self) {
            _ = try await transport.call(
                VitalsMethods.stubborn, requests: RequestStream(requests),
                options: CallOptions(timeout: .milliseconds(20))
            ).first { _ in true }
        }

        #expect(error?.code == .deadlineExceeded)
        let line = try #require(await logs.waitForLines(1).first)
        #expect(line.field("rpc.grpc.status_code") == "1")
    }

    @Test func anUnknownMethodIsNotLoggedByTheInterceptor() async {
        let logs = CapturedLogs()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [LoggingServerInterceptor(logger: logs.logger())])
        let unknown = MethodDescriptor(service: VitalsMethods.service, method: "Delete", kind: .unary)

        #expect(await callVitals(transport, unknown, [[1]]).failureCode == .unimplemented)
        #expect(logs.all.isEmpty)
    }

    // MARK: client

    @Test func aClientCallIsLoggedWhenItsResponsesEnd() async throws {
        let logs = CapturedLogs()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [LoggingClientInterceptor(logger: logs.logger(), peer: "ipv4:127.0.0.1:50051")])

        #expect(try await callVitals(transport, VitalsMethods.history, [[3]]).get() == [[0], [1], [2]])
        _ = await callVitals(transport, VitalsMethods.readOthers, [[1]])

        let lines = logs.all
        try #require(lines.count == 2)
        #expect(lines[0].message == "gRPC call finished")
        #expect(lines[0].level == .info)
        #expect(lines[0].field("rpc.method") == "History")
        #expect(lines[0].field("rpc.grpc.status_code") == "0")
        #expect(lines[0].field("rpc.peer") == "ipv4:127.0.0.1:50051")
        #expect(lines[1].level == .warning)
        #expect(lines[1].field("rpc.grpc.status_code") == "7")
    }

    @Test func aClientThatDropsItsResponsesLogsTheCallAsCancelled() async throws {
        let logs = CapturedLogs()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [LoggingClientInterceptor(logger: logs.logger())])
        do {
            let (requests, sender) = AsyncStream.makeStream(of: [UInt8].self)
            sender.yield([0])
            sender.finish()
            let responses = try await transport.call(
                VitalsMethods.follow, requests: RequestStream(requests), options: CallOptions())
            var iterator = responses.makeAsyncIterator()
            #expect(try await iterator.next() == [0])
        }
        let line = try #require(await logs.waitForLines(1).first)
        #expect(line.field("rpc.grpc.status_code") == "1")
        #expect(line.level == .warning)
        #expect(line.field("rpc.peer") == nil)
    }

    @Test func theClientLogOmitsTheBearerTokenItsAuthInterceptorAdded() async throws {
        let logs = CapturedLogs()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [
                BearerTokenClientInterceptor(token: "eyJ-secret-token"),
                LoggingClientInterceptor(logger: logs.logger(), loggedMetadataKeys: ["x-request-id"]),
            ])

        _ = try await callVitals(transport, VitalsMethods.record, [[1]], metadata: ["x-request-id": "req-2"]).get()

        let line = try #require(logs.all.first)
        #expect(line.field("rpc.grpc.request.metadata.x-request-id") == "[\"req-2\"]")
        #expect(!"\(line.metadata)".contains("secret"))
    }
}

/// Adds "authorization: Bearer <token>" to every call.
struct BearerTokenClientInterceptor: ClientInterceptor {
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

extension Result where Failure == RPCError {
    /// The status code of a failure, nil for success.
    var failureCode: RPCError.Code? {
        if case .failure(let error) = self { error.code } else { nil }
    }
}
