import GRPCProtos
import RPCCore
import Testing

@testable import HTTP2Transport

/// Reconnection backoff (gRPC doc/connection-backoff.md) and client keepalive (doc/keepalive.md) over real
/// loopback sockets, with the backoff and keepalive times scaled down.
@Suite("Client reconnection backoff and keepalive")
struct ClientBackoffTests {
    /// A client configuration for `port` whose backoff waits 200 ms, then 400 ms, 800 ms..., without jitter.
    private static func configuration(port: Int) -> ClientConfiguration {
        var configuration = ClientConfiguration(host: "127.0.0.1", port: port)
        configuration.backoff = ConnectionBackoff(
            initial: .milliseconds(200), multiplier: 2, jitter: 0, maximum: .seconds(5),
            minimumConnectTimeout: .seconds(2))
        return configuration
    }

    private static func emptyCallError(_ client: Grpc_Testing_TestServiceClient<HTTP2ClientTransport>) async -> RPCError? {
        do {
            _ = try await client.emptyCall(Grpc_Testing_Empty())
            return nil
        } catch {
            return error as? RPCError
        }
    }

    /// Calls every 20 ms until `done` says stop or `limit` passes; returns each call's error (nil: success).
    private static func callRepeatedly(
        _ client: Grpc_Testing_TestServiceClient<HTTP2ClientTransport>, limit: Duration,
        until done: (RPCError?) -> Bool
    ) async throws -> [RPCError?] {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var outcomes: [RPCError?] = []
        while clock.now < deadline {
            let outcome = await emptyCallError(client)
            outcomes.append(outcome)
            if done(outcome) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return outcomes
    }

    /// The gaps between consecutive attempt starts, in ms.
    private static func gaps(_ attempts: [ConnectionAttemptRecord]) -> [Double] {
        zip(attempts.dropFirst(), attempts).map { later, earlier in Double(later.startedAt - earlier.startedAt) / 1e6 }
    }

    @Test("given a server that is down, calls fail fast with UNAVAILABLE and attempts are spaced 200, 400, 800 ms apart")
    func attemptsSpacedByBackoff() async throws {
        let reserved = try #require(ReservedPort())
        defer { reserved.release() }
        let transport = try HTTP2ClientTransport(configuration: Self.configuration(port: reserved.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let refused = "connection to 127.0.0.1:\(reserved.port) failed: Connection refused"

        // The first call makes the first attempt, which is refused.
        #expect(await Self.emptyCallError(client)?.message == refused)
        // Calling every 20 ms until the fourth attempt.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var fastFailures = 0
        while clock.now < deadline, await transport.connectionStatistics().connectAttempts < 4 {
            let error = await Self.emptyCallError(client)
            #expect(error?.code == .unavailable)
            if error?.message.hasPrefix(refused + "; not reconnecting for another") == true { fastFailures += 1 }
            try await Task.sleep(for: .milliseconds(20))
        }
        let statistics = await transport.connectionStatistics()
        #expect(statistics.connectAttempts == 4)
        // Within each wait, calls failed at once naming the refusal, without a new attempt.
        #expect(fastFailures >= 3, "\(fastFailures)")
        // Never sooner than the schedule allows. (No upper bound: a loaded test run can stall calls for seconds.)
        let gaps = Self.gaps(statistics.recentAttempts)
        #expect(gaps.count == 3)
        for (gap, wait) in zip(gaps, [200.0, 400.0, 800.0]) {
            #expect(gap >= wait, "\(gaps)")
        }
        await transport.close()
    }

    @Test("given the server comes up on the same port, a call succeeds once the backoff has elapsed, and the backoff resets")
    func serverComesBack() async throws {
        let reserved = try #require(ReservedPort())
        let port = reserved.port
        let transport = try HTTP2ClientTransport(configuration: Self.configuration(port: port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        #expect(await Self.emptyCallError(client)?.code == .unavailable)

        reserved.release()
        let server = try TestServer.start { $0.port = port }
        let outcomes = try await Self.callRepeatedly(client, limit: .seconds(10)) { $0 == nil }
        #expect(outcomes.last.map { $0 == nil } == true, "\(outcomes)")
        // Calls before the success failed with UNAVAILABLE, mostly at once: the server being up does not cut the
        // wait short.
        for failure in outcomes.dropLast() { #expect(failure?.code == .unavailable, "\(outcomes)") }
        let statistics = await transport.connectionStatistics()
        #expect(statistics.connectAttempts == 2)
        #expect(statistics.isConnected)
        #expect(Self.gaps(statistics.recentAttempts).allSatisfy { $0 >= 200 })

        // A success resets the backoff: after the server goes away, the first reconnect is not held back.
        await server.stop(grace: .milliseconds(50))
        let afterStop = try await Self.callRepeatedly(client, limit: .seconds(10)) { $0?.message.contains("failed:") == true }
        #expect(afterStop.allSatisfy { $0?.message.contains("not reconnecting") != true }, "\(afterStop)")
        await transport.close()
    }

    @Test("given keepalive every 100 ms, the client pings an idle server, gets ACKs and stays connected")
    func keepalivePingsIdleServer() async throws {
        let server = try TestServer.start { configuration in
            configuration.keepalive.minimumClientPingInterval = .milliseconds(10)
            configuration.keepalive.permitClientPingsWithoutCalls = true
        }
        var configuration = Self.configuration(port: server.port)
        configuration.keepalive = ClientKeepalive(time: .milliseconds(100), timeout: .seconds(1), permitWithoutCalls: true)
        let transport = try HTTP2ClientTransport(configuration: configuration)
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        #expect(try await client.emptyCall(Grpc_Testing_Empty()) == Grpc_Testing_Empty())
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while await transport.connectionStatistics().keepaliveAcks < 3 && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let statistics = await transport.connectionStatistics()
        #expect(statistics.keepaliveAcks >= 3, "\(statistics)")
        #expect(statistics.isConnected)
        #expect(statistics.connectAttempts == 1)
        #expect(try await client.emptyCall(Grpc_Testing_Empty()) == Grpc_Testing_Empty())
        #expect(await transport.connectionStatistics().connectAttempts == 1)
        await transport.close()
        await server.stop()
    }

    @Test("given a server allowing pings 1 s apart, a client pinging every 100 ms gets too_many_pings and its next connection pings every 200 ms")
    func tooManyPingsDoublesKeepaliveTime() async throws {
        let log = EventLogLines()
        let server = try TestServer.start { configuration in
            configuration.eventLog = ConnectionEventLog { line in log.append(line) }
            configuration.keepalive.minimumClientPingInterval = .seconds(1)
            configuration.keepalive.permitClientPingsWithoutCalls = true
        }
        var configuration = Self.configuration(port: server.port)
        configuration.keepalive = ClientKeepalive(time: .milliseconds(100), timeout: .seconds(1), permitWithoutCalls: true)
        let transport = try HTTP2ClientTransport(configuration: configuration)
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        // The call connects; under load the server may already cut it short for the pings.
        _ = await Self.emptyCallError(client)

        // Pings at ~100, 200, 300, 400 ms: the third too soon is one strike over the two forgiven.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while await transport.connectionStatistics().keepaliveTime == .milliseconds(100) && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(log.lines.contains { $0.contains("GOAWAY ENHANCE_YOUR_CALM: too_many_pings") }, "\(log.lines)")
        #expect(await transport.connectionStatistics().keepaliveTime == .milliseconds(200))

        // The next call makes a new connection at once (the last one was made, so no backoff), pinging every 200 ms.
        let outcomes = try await Self.callRepeatedly(client, limit: .seconds(10)) { $0 == nil }
        #expect(outcomes.last.map { $0 == nil } == true, "\(outcomes)")
        let attempts = await transport.connectionStatistics().recentAttempts
        #expect(attempts.count >= 2)
        #expect(attempts.prefix(2).map(\.keepaliveTime) == [.milliseconds(100), .milliseconds(200)])
        await transport.close()
        await server.stop(grace: .milliseconds(100))
    }
}
