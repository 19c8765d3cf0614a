import GRPCProtos
import GRPCStandardServices
import RPCCore
import Testing

// grpc.health.v1.Health through the in-process transport and the generated client, as a load balancer or
// Kubernetes probe would call it.

private typealias Status = HealthStatusRegistry.ServingStatus

private func healthClient(
    _ registry: HealthStatusRegistry, maxListedServices: Int = 100
) -> Grpc_Health_V1_HealthClient<InProcessTransport> {
    let service = HealthService(registry: registry, maxListedServices: maxListedServices)
    return Grpc_Health_V1_HealthClient(transport: InProcessTransport(services: [service.serviceDefinition]))
}

private func request(_ service: String) -> Grpc_Health_V1_HealthCheckRequest {
    var request = Grpc_Health_V1_HealthCheckRequest()
    request.service = service
    return request
}

private let options = CallOptions(timeout: .seconds(20))

@Suite struct HealthServiceTests {
    @Test func checkReportsTheServerAndEachRegisteredService() async throws {
        let registry = HealthStatusRegistry()
        registry.setStatus(.notServing, forService: "healthledger.v1.Ledger")
        let client = healthClient(registry)

        #expect(try await client.check(request(""), options: options).status == .serving)
        #expect(try await client.check(request("healthledger.v1.Ledger"), options: options).status == .notServing)

        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        #expect(try await client.check(request("healthledger.v1.Ledger"), options: options).status == .serving)
    }

    @Test func checkOfAnUnknownServiceFailsWithNotFound() async throws {
        let client = healthClient(HealthStatusRegistry())
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.check(request("healthledger.v1.Nope"), options: options)
        }
        #expect(error?.code == .notFound)
    }

    @Test func watchSendsTheCurrentStatusThenEveryChange() async throws {
        let registry = HealthStatusRegistry()
        registry.setStatus(.notServing, forService: "healthledger.v1.Ledger")
        let client = healthClient(registry)

        var updates = try await client.watch(request("healthledger.v1.Ledger"), options: options).makeAsyncIterator()
        #expect(try await updates.next()?.status == .notServing)

        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        #expect(try await updates.next()?.status == .serving)

        // Setting the same status again is not a change; the next message is the real one.
        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        registry.setStatus(.notServing, forService: "healthledger.v1.Ledger")
        #expect(try await updates.next()?.status == .notServing)
    }

    @Test func watchOfAnUnknownServiceWaitsForItToAppear() async throws {
        let registry = HealthStatusRegistry()
        let client = healthClient(registry)

        var updates = try await client.watch(request("healthledger.v1.Later"), options: options).makeAsyncIterator()
        #expect(try await updates.next()?.status == .serviceUnknown)

        registry.setStatus(.serving, forService: "healthledger.v1.Later")
        #expect(try await updates.next()?.status == .serving)
    }

    @Test func listReportsEveryRegisteredService() async throws {
        let registry = HealthStatusRegistry(serverStatus: .notServing)
        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        registry.setStatus(.notServing, forService: "grpc.testing.TestService")

        let response = try await healthClient(registry).list(Grpc_Health_V1_HealthListRequest(), options: options)

        #expect(
            response.statuses.mapValues(\.status) == [
                "": .notServing, "healthledger.v1.Ledger": .serving, "grpc.testing.TestService": .notServing,
            ])
    }

    @Test func listOfTooManyServicesFailsWithResourceExhausted() async throws {
        let registry = HealthStatusRegistry()
        for number in 0..<3 { registry.setStatus(.serving, forService: "svc.S\(number)") }
        let error = await #expect(throws: RPCError.self) {
            _ = try await healthClient(registry, maxListedServices: 3).list(
                Grpc_Health_V1_HealthListRequest(), options: options)
        }
        #expect(error?.code == .resourceExhausted)
    }

    @Test func drainingMarksEverythingNotServingAndWatchersHearIt() async throws {
        let registry = HealthStatusRegistry()
        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        let client = healthClient(registry)
        var ledger = try await client.watch(request("healthledger.v1.Ledger"), options: options).makeAsyncIterator()
        var server = try await client.watch(request(""), options: options).makeAsyncIterator()
        #expect(try await ledger.next()?.status == .serving)
        #expect(try await server.next()?.status == .serving)

        registry.markAllNotServing()

        #expect(try await ledger.next()?.status == .notServing)
        #expect(try await server.next()?.status == .notServing)
        #expect(try await client.check(request(""), options: options).status == .notServing)

        // A service that still reports itself healthy while the server drains does not flip back.
        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")
        #expect(try await client.check(request("healthledger.v1.Ledger"), options: options).status == .notServing)
    }

    @Test func aWatchThatTheClientDropsUnregistersItsWatcher() async throws {
        let registry = HealthStatusRegistry()
        let client = healthClient(registry)
        do {
            var updates = try await client.watch(request(""), options: options).makeAsyncIterator()
            #expect(try await updates.next()?.status == .serving)
            #expect(registry.watcherCount == 1)
        }
        // Dropping the response stream cancels the call; the handler's task ends and lets go of its watcher.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while registry.watcherCount > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(registry.watcherCount == 0)
    }
}
