import GRPCObservability
import Metrics
import RPCCore
import Testing

@Suite("Metrics interceptors", .timeLimit(.minutes(1)))
struct MetricsInterceptorTests {
    static func dimensions(_ method: MethodDescriptor, status: String) -> [String: String] {
        [
            "rpc.system": "grpc", "rpc.service": method.service, "rpc.method": method.method,
            "rpc.grpc.status_code": status,
        ]
    }

    // MARK: server

    @Test func aUnaryCallRecordsItsDurationAndNoMessageCounts() async throws {
        let metrics = CapturedMetrics()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [MetricsServerInterceptor(factory: metrics)])

        _ = try await callVitals(transport, VitalsMethods.record, [[1]]).get()
        _ = try await callVitals(transport, VitalsMethods.record, [[2]]).get()

        let durations = metrics.metrics("rpc.server.duration")
        try #require(durations.count == 1)
        #expect(durations[0].kind == .timer)
        #expect(durations[0].dimensions == Self.dimensions(VitalsMethods.record, status: "0"))
        #expect(durations[0].values.count == 2)
        #expect(durations[0].values.allSatisfy { $0 >= 0 && $0 < 10e9 })
        #expect(metrics.metrics("rpc.server.requests_per_rpc").isEmpty)
        #expect(metrics.metrics("rpc.server.responses_per_rpc").isEmpty)
    }

    @Test func failedCallsAreRecordedUnderTheirStatusCode() async throws {
        let metrics = CapturedMetrics()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [MetricsServerInterceptor(factory: metrics)])

        _ = await callVitals(transport, VitalsMethods.readOthers, [[1]])
        _ = await callVitals(transport, VitalsMethods.reindex, [[1]])

        #expect(
            Set(metrics.metrics("rpc.server.duration").map(\.dimensions)) == [
                Self.dimensions(VitalsMethods.readOthers, status: "7"),
                Self.dimensions(VitalsMethods.reindex, status: "13"),
            ])
    }

    @Test func aStreamingCallRecordsTheMessagesEachWay() async throws {
        let metrics = CapturedMetrics()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [MetricsServerInterceptor(factory: metrics)])

        _ = try await callVitals(transport, VitalsMethods.monitor, [[1], [2], [3]]).get()
        _ = try await callVitals(transport, VitalsMethods.upload, [[1], [2], [3], [4], [5]]).get()
        _ = try await callVitals(transport, VitalsMethods.history, [[4]]).get()

        let requests = metrics.metrics("rpc.server.requests_per_rpc")
        let responses = metrics.metrics("rpc.server.responses_per_rpc")
        #expect(requests.allSatisfy { $0.kind == .recorder(aggregate: true) })
        #expect(responses.allSatisfy { $0.kind == .recorder(aggregate: true) })
        func values(_ metrics: [CapturedMetric], _ method: MethodDescriptor) -> [Double]? {
            metrics.first { $0.dimensions == Self.dimensions(method, status: "0") }?.values
        }
        #expect(values(requests, VitalsMethods.monitor) == [3])
        #expect(values(responses, VitalsMethods.monitor) == [3])
        #expect(values(requests, VitalsMethods.upload) == [5])
        #expect(values(responses, VitalsMethods.upload) == [1])
        #expect(values(requests, VitalsMethods.history) == [1])
        #expect(values(responses, VitalsMethods.history) == [4])
    }

    // MARK: client

    @Test func aClientCallRecordsItsDurationAndMessagesWhenItsResponsesEnd() async throws {
        let metrics = CapturedMetrics()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [MetricsClientInterceptor(factory: metrics)])

        _ = try await callVitals(transport, VitalsMethods.history, [[4]]).get()
        _ = await callVitals(transport, VitalsMethods.readOthers, [[1]])

        #expect(
            Set(metrics.metrics("rpc.client.duration").map(\.dimensions)) == [
                Self.dimensions(VitalsMethods.history, status: "0"),
                Self.dimensions(VitalsMethods.readOthers, status: "7"),
            ])
        #expect(metrics.metrics("rpc.client.requests_per_rpc").map(\.values) == [[1]])
        #expect(metrics.metrics("rpc.client.responses_per_rpc").map(\.values) == [[4]])
    }

    @Test func serverAndClientInterceptorsTogetherMeasureBothSidesOfOneCall() async throws {
        let serverMetrics = CapturedMetrics()
        let clientMetrics = CapturedMetrics()
        let logs = CapturedLogs()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(
                services: [makeVitalsService()],
                interceptors: [
                    LoggingServerInterceptor(logger: logs.logger()), MetricsServerInterceptor(factory: serverMetrics),
                ]),
            interceptors: [MetricsClientInterceptor(factory: clientMetrics)])

        _ = try await callVitals(transport, VitalsMethods.upload, [[1], [2]]).get()

        #expect(serverMetrics.metrics("rpc.server.requests_per_rpc").map(\.values) == [[2]])
        #expect(clientMetrics.metrics("rpc.client.requests_per_rpc").map(\.values) == [[2]])
        #expect(clientMetrics.metrics("rpc.client.responses_per_rpc").map(\.values) == [[1]])
        #expect(logs.all.map { $0.field("rpc.method") } == ["Upload"])
    }
}
