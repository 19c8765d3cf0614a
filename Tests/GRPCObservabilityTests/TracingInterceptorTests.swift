import GRPCObservability
import HTTP2Transport
import RPCCore
import Testing
import Tracing

@Suite("Tracing interceptors", .timeLimit(.minutes(1)))
struct TracingInterceptorTests {
    /// A W3C example trace context, as an upstream service that traces would send it.
    static let upstreamTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    // MARK: server

    @Test func aServedCallIsOneServerSpanNamedAfterItsMethodWithOpenTelemetrysRPCAttributes() async throws {
        let tracer = RecordingTracer()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [TracingServerInterceptor(tracer: tracer)])

        #expect(try await callVitals(transport, VitalsMethods.record, [[72]]).get() == [[72]])

        let spans = tracer.spans
        try #require(spans.count == 1)
        let span = spans[0]
        #expect(span.operationName == "healthledger.test.Vitals/Record")
        #expect(span.kind == .server)
        #expect(span.attribute("rpc.system") == .string("grpc"))
        #expect(span.attribute("rpc.service") == .string("healthledger.test.Vitals"))
        #expect(span.attribute("rpc.method") == .string("Record"))
        #expect(span.attribute("rpc.grpc.status_code") == .int64(0))
        #expect(span.attribute("network.peer.address") == nil)  // "in-process" is no network peer
        #expect(span.status == nil)  // OK leaves the status unset
        #expect(span.errors.isEmpty)
        #expect(span.parentSpanID == nil)  // the client sent no trace context: a new trace
    }

    @Test func theServerSpanContinuesTheTraceTheClientSentInItsMetadata() async throws {
        let tracer = RecordingTracer()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [TracingServerInterceptor(tracer: tracer)])

        _ = try await callVitals(
            transport, VitalsMethods.record, [[1]], metadata: ["traceparent": .string(Self.upstreamTraceparent)]
        ).get()

        let span = try #require(tracer.spans.first)
        #expect(span.identity.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.parentSpanID == "00f067aa0ba902b7")
        #expect(span.identity.spanID != "00f067aa0ba902b7")
    }

    @Test func spansTheHandlerStartsNestUnderTheServerSpan() async throws {
        let tracer = RecordingTracer()
        let transport = InProcessTransport(
            services: [makeChartService(tracer: tracer)], interceptors: [TracingServerInterceptor(tracer: tracer)])

        _ = try await callVitals(transport, ChartMethods.lookup, [[]]).get()

        let spans = tracer.spans
        try #require(spans.count == 2)
        let (lookup, served) = (spans[0], spans[1])  // the handler's span ends first
        #expect(lookup.operationName == "chart lookup")
        #expect(served.operationName == "healthledger.test.Charts/Lookup")
        #expect(lookup.parentSpanID == served.identity.spanID)
        #expect(lookup.identity.traceID == served.identity.traceID)
    }

    @Test(arguments: [
        // A status that blames the caller is the server working as it should: OpenTelemetry leaves it unset.
        (VitalsMethods.readOthers, 7, nil as SpanStatus?),
        (VitalsMethods.reindex, 13, SpanStatus(code: .error, message: "reading index is inconsistent")),
    ])
    func aFailedCallSetsTheServerSpansStatusOnlyWhenTheServerFailed(
        method: MethodDescriptor, code: Int, status: SpanStatus?
    ) async throws {
        let tracer = RecordingTracer()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [TracingServerInterceptor(tracer: tracer)])

        #expect(await callVitals(transport, method, [[1]]).failureCode?.rawValue == code)

        let span = try #require(tracer.spans.first)
        #expect(span.attribute("rpc.grpc.status_code") == .int64(Int64(code)))
        #expect(span.status == status)
        #expect(span.errors.count == (status == nil ? 0 : 1))
    }

    @Test func aStreamingCallsServerSpanEndsWhenTheCallEndsNotWhenItStarts() async throws {
        let tracer = RecordingTracer()
        let transport = InProcessTransport(
            services: [makeVitalsService()], interceptors: [TracingServerInterceptor(tracer: tracer)])
        let (requests, sender) = AsyncStream.makeStream(of: [UInt8].self)
        sender.yield([1])

        let responses = try await transport.call(
            VitalsMethods.monitor, requests: RequestStream(requests), options: CallOptions())
        var iterator = responses.makeAsyncIterator()
        #expect(try await iterator.next() == [1])
        sender.yield([2])
        #expect(try await iterator.next() == [2])
        #expect(tracer.spans.isEmpty)  // the handler is still waiting for readings
        sender.finish()
        #expect(try await iterator.next() == nil)

        let spans = await tracer.waitForSpans(1)
        #expect(spans.count == 1)
        #expect(spans.first?.attribute("rpc.grpc.status_code") == .int64(0))
    }

    // MARK: client

    @Test func aClientCallIsOneClientSpanWithTheServerItTalksTo() async throws {
        let tracer = RecordingTracer()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [
                TracingClientInterceptor(tracer: tracer, serverAddress: "ledger.example.org", serverPort: 7443)
            ])

        #expect(try await callVitals(transport, VitalsMethods.history, [[3]]).get() == [[0], [1], [2]])

        let span = try #require(tracer.spans.first)
        #expect(tracer.spans.count == 1)
        #expect(span.operationName == "healthledger.test.Vitals/History")
        #expect(span.kind == .client)
        #expect(span.attribute("rpc.system") == .string("grpc"))
        #expect(span.attribute("rpc.service") == .string("healthledger.test.Vitals"))
        #expect(span.attribute("rpc.method") == .string("History"))
        #expect(span.attribute("server.address") == .string("ledger.example.org"))
        #expect(span.attribute("server.port") == .int64(7443))
        #expect(span.attribute("rpc.grpc.status_code") == .int64(0))
        #expect(span.status == nil)
    }

    @Test func everyFailedStatusIsAnErrorOfTheClientSpan() async throws {
        let tracer = RecordingTracer()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [TracingClientInterceptor(tracer: tracer)])

        _ = await callVitals(transport, VitalsMethods.readOthers, [[1]])

        let span = try #require(tracer.spans.first)
        #expect(span.attribute("rpc.grpc.status_code") == .int64(7))
        #expect(span.status == SpanStatus(code: .error, message: "no grant covers vitals of another patient"))
        #expect(span.errors.count == 1)
        #expect(span.attribute("server.address") == nil)
    }

    @Test func aStreamingClientSpanEndsWhenTheLastResponseIsRead() async throws {
        let tracer = RecordingTracer()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [TracingClientInterceptor(tracer: tracer)])
        let (requests, sender) = AsyncStream.makeStream(of: [UInt8].self)
        sender.yield([3])
        sender.finish()

        let responses = try await transport.call(
            VitalsMethods.history, requests: RequestStream(requests), options: CallOptions())
        var iterator = responses.makeAsyncIterator()
        #expect(try await iterator.next() == [0])
        #expect(try await iterator.next() == [1])
        #expect(tracer.spans.isEmpty)  // `next` returned long ago; the call has not ended
        #expect(try await iterator.next() == [2])
        #expect(try await iterator.next() == nil)

        #expect(tracer.spans.map(\.operationName) == ["healthledger.test.Vitals/History"])
    }

    @Test func aClientThatDropsItsResponsesEndsItsSpanAsCancelled() async throws {
        let tracer = RecordingTracer()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(services: [makeVitalsService()]),
            interceptors: [TracingClientInterceptor(tracer: tracer)])
        do {
            let (requests, sender) = AsyncStream.makeStream(of: [UInt8].self)
            sender.yield([0])
            sender.finish()
            let responses = try await transport.call(
                VitalsMethods.follow, requests: RequestStream(requests), options: CallOptions())
            var iterator = responses.makeAsyncIterator()
            #expect(try await iterator.next() == [0])
        }

        let span = try #require(await tracer.waitForSpans(1).first)
        #expect(span.attribute("rpc.grpc.status_code") == .int64(1))
        #expect(span.status?.code == .error)
    }

    // MARK: both sides

    @Test func theServerSpanIsAChildOfTheClientSpanWhichIsAChildOfTheCallersSpan() async throws {
        let tracer = RecordingTracer()
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(
                services: [makeChartService(tracer: tracer)], interceptors: [TracingServerInterceptor(tracer: tracer)]),
            interceptors: [TracingClientInterceptor(tracer: tracer)])

        // A stale traceparent the caller copied from elsewhere must not reach the server beside the client span's.
        let received = try await tracer.withSpan("review chart") { _ in
            try await callVitals(
                transport, ChartMethods.lookup, [[]], metadata: ["traceparent": .string(Self.upstreamTraceparent)]
            ).get()
        }

        let spans = await tracer.waitForSpans(4)
        #expect(spans.count == 4)
        let review = try #require(spans.first { $0.operationName == "review chart" })
        let client = try #require(spans.first { $0.kind == .client })
        let served = try #require(spans.first { $0.kind == .server })
        let lookup = try #require(spans.first { $0.operationName == "chart lookup" })
        #expect(client.operationName == "healthledger.test.Charts/Lookup")
        #expect(served.operationName == "healthledger.test.Charts/Lookup")
        #expect(client.parentSpanID == review.identity.spanID)
        #expect(served.parentSpanID == client.identity.spanID)
        #expect(lookup.parentSpanID == served.identity.spanID)
        #expect(Set(spans.map(\.identity.traceID)) == [review.identity.traceID])
        #expect(received == [Array(client.identity.traceparent.utf8)])
    }

    @Test func withoutABootstrappedTracerCallsPassUntouched() async throws {
        let transport = InterceptedClientTransport(
            wrapping: InProcessTransport(
                services: [makeChartService(tracer: nil)], interceptors: [TracingServerInterceptor()]),
            interceptors: [TracingClientInterceptor()])

        #expect(try await callVitals(transport, ChartMethods.lookup, [[]]).get() == [[]])  // no traceparent sent
        #expect(
            try await callVitals(
                transport, ChartMethods.lookup, [[]], metadata: ["traceparent": .string(Self.upstreamTraceparent)]
            ).get() == [Array(Self.upstreamTraceparent.utf8)])
    }

    // MARK: over HTTP/2

    @Test func overRealSocketsEachServerSpanIsAChildOfItsClientSpan() async throws {
        let clientTracer = RecordingTracer()
        let serverTracer = RecordingTracer()
        let server = GRPCServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            services: [makeVitalsService(), makeChartService(tracer: serverTracer)],
            interceptors: [TracingServerInterceptor(tracer: serverTracer)])
        let port = try server.start()
        let http2 = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let transport = InterceptedClientTransport(
            wrapping: http2,
            interceptors: [TracingClientInterceptor(tracer: clientTracer, serverAddress: "127.0.0.1", serverPort: port)]
        )
        let results: [Result<[[UInt8]], RPCError>] = [
            await callVitals(transport, VitalsMethods.record, [[72]]),
            await callVitals(transport, VitalsMethods.history, [[3]]),
            await callVitals(transport, VitalsMethods.readOthers, [[1]]),
            await callVitals(transport, ChartMethods.lookup, [[]]),
        ]
        let clientSpans = await clientTracer.waitForSpans(4)
        let serverSpans = await serverTracer.waitForSpans(5)
        await http2.close()
        await server.shutdown(gracePeriod: .seconds(1))

        #expect(try results[1].get() == [[0], [1], [2]])
        #expect(results[2].failureCode == .permissionDenied)
        #expect(clientSpans.count == 4)
        #expect(serverSpans.count == 5)
        for client in clientSpans {
            let served = try #require(
                serverSpans.first { $0.kind == .server && $0.operationName == client.operationName },
                "no server span for \(client.operationName)")
            #expect(client.kind == .client)
            #expect(served.parentSpanID == client.identity.spanID)
            #expect(served.identity.traceID == client.identity.traceID)
            #expect(served.attribute("rpc.grpc.status_code") == client.attribute("rpc.grpc.status_code"))
            #expect(client.attribute("server.address") == .string("127.0.0.1"))
            #expect(client.attribute("server.port") == .int64(Int64(port)))
            #expect(served.attribute("network.type") == .string("ipv4"))
            #expect(served.attribute("network.peer.address") == .string("127.0.0.1"))
            guard case .int64(let peerPort) = served.attribute("network.peer.port") else {
                Issue.record("no network.peer.port on \(served.operationName)")
                continue
            }
            #expect(peerPort > 0 && peerPort != Int64(port))  // the client's ephemeral port, not the listener's
        }
        let denied = try #require(clientSpans.first { $0.attribute("rpc.grpc.status_code") == .int64(7) })
        #expect(denied.status?.code == .error)
        #expect(serverSpans.first { $0.operationName == denied.operationName }?.status == nil)
        let lookup = try #require(serverSpans.first { $0.operationName == "chart lookup" })
        let servedLookup = try #require(serverSpans.first { $0.operationName == "healthledger.test.Charts/Lookup" })
        #expect(lookup.parentSpanID == servedLookup.identity.spanID)
    }
}
