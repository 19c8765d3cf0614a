import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerNode
import RPCCore
import Synchronization
import Testing

/// Per-principal and per-address rate limits over real TLS connections. The buckets' clock is a `StepClock` the
/// story moves by hand, so each count below is exact: no call refills a bucket unless the story says so.
@Suite("Rate limits over the wire")
struct RateLimitTests {
    typealias Participant = LedgerSecurityTests.Participant

    /// A node with these limits on a clock the story moves.
    private func withNode(
        perPrincipal: RateLimit?, perAddress: RateLimit?, _ story: (LedgerTestNode, StepClock) async throws -> Void
    ) async throws {
        let clock = StepClock()
        try await LedgerSecurityTests.withLedgerNode(
            configure: { configuration in
                configuration.rateLimits = RateLimits(
                    perPrincipal: perPrincipal, perAddress: perAddress, clock: clock.source)
            },
            { node in try await story(node, clock) })
    }

    /// How `count` calls of `call`, all in flight at once, ended: OK, RESOURCE_EXHAUSTED, or anything else.
    private func concurrently(
        _ count: Int, _ call: @escaping @Sendable () async throws -> Void
    ) async -> (served: Int, refused: [RPCError], failed: [String]) {
        await withTaskGroup(of: Result<Void, Error>.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        try await call()
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var served = 0
            var refused: [RPCError] = []
            var failed: [String] = []
            for await result in group {
                switch result {
                case .success: served += 1
                case .failure(let error as RPCError) where error.code == .resourceExhausted: refused.append(error)
                case .failure(let error): failed.append("\(error)")
                }
            }
            return (served, refused, failed)
        }
    }

    private static func listGrants(_ participant: Participant) async throws {
        _ = try await participant.client.stub.listGrants(
            Healthledger_V1_ListGrantsRequest(), options: try await participant.client.authenticated())
    }

    @Test(
        "a noisy principal hammering the node is refused beyond its burst while a quiet one on its own connection gets every call served; refused calls commit nothing and the noisy one recovers after the refill"
    )
    func noisyPrincipalDoesNotStarveQuietOne() async throws {
        let perPrincipal = RateLimit(calls: 20, per: .seconds(1), burst: 30)!
        try await withNode(perPrincipal: perPrincipal, perAddress: RateLimit(calls: 100, per: .seconds(1), burst: 200)) {
            node, clock in
            let noisy = try Participant(on: node)
            let quiet = try Participant(on: node)
            _ = try await quiet.client.sessionToken()
            // Signed before the flood; asking for the sequence (GetPrincipal) is the noisy principal's first call.
            var grant = Healthledger_V1_Grant.permit(to: quiet.id, actions: [.read], categories: [.labs])
            grant.patient = noisy.id
            let pendingGrant = try await noisy.signed(.grant(grant))

            async let flood = concurrently(90) { try await Self.listGrants(noisy) }
            var quietOutcomes: [String] = []
            for _ in 0..<30 {
                do {
                    try await Self.listGrants(quiet)
                    quietOutcomes.append("OK")
                } catch {
                    quietOutcomes.append("\(error)")
                }
            }
            let noisyOutcome = await flood

            #expect(quietOutcomes == Array(repeating: "OK", count: 30), "the quiet principal was refused: \(quietOutcomes)")
            #expect(noisyOutcome.failed.isEmpty, "\(noisyOutcome.failed.prefix(3))")
            #expect(noisyOutcome.served == 29, "burst 30, one taken by GetPrincipal")
            #expect(noisyOutcome.refused.count == 61)
            let refusal = try #require(noisyOutcome.refused.first)
            #expect(refusal.message == "rate limit: principal \(noisy.id) is over its limit of 20/s (burst 30); retry in 50 ms")
            #expect(refusal.retryDelay?.nanos == 50_000_000)

            // Over the limit, a transaction is refused before anything is checked or committed, and a query is
            // refused before its access decision is made or audited.
            let entries = node.server.node.head.treeSize
            _ = await LedgerSecurityTests.expectStatus(.resourceExhausted, "a signed Grant over the limit") {
                _ = try await noisy.submitGrant(pendingGrant)
            }
            _ = await LedgerSecurityTests.expectStatus(.resourceExhausted, "a Query over the limit") {
                let options = try await noisy.client.authenticated()
                _ = try await LedgerSecurityTests.drain(
                    try await noisy.client.stub.query(.of(quiet.id, [.labs]), options: options))
            }
            #expect(node.server.node.head.treeSize == entries, "a refused call committed something")

            // One second refills 20 calls: the grant commits, then 19 more calls are served and the next refused.
            clock.advance(by: .seconds(1))
            _ = try await noisy.submitGrant(pendingGrant)
            #expect(node.server.node.head.treeSize == entries + 1)
            let recovered = await concurrently(25) { try await Self.listGrants(noisy) }
            #expect(recovered.served == 19 && recovered.refused.count == 6 && recovered.failed.isEmpty)
        }
    }

    @Test(
        "an unauthenticated flood from one address is refused beyond the address's burst, while principals with a session keep being served"
    )
    func unauthenticatedFloodIsLimitedByAddress() async throws {
        let perAddress = RateLimit(calls: 5, per: .seconds(1), burst: 12)!
        try await withNode(perPrincipal: RateLimit(calls: 100, per: .seconds(1), burst: 100), perAddress: perAddress) {
            node, clock in
            // Signing in costs the address three calls: GetChainHead, CreateSessionChallenge, CreateSession.
            let signedIn = try Participant(on: node)
            _ = try await signedIn.client.sessionToken()

            let anonymous = Healthledger_V1_LedgerClient(transport: try node.transport())
            let flood = await concurrently(40) { _ = try await anonymous.getChainHead(Healthledger_V1_GetChainHeadRequest()) }
            #expect(flood.failed.isEmpty, "\(flood.failed.prefix(3))")
            #expect(flood.served == 9 && flood.refused.count == 31)
            #expect(
                flood.refused.first?.message
                    == "rate limit: address 127.0.0.1 is over its limit of 5/s (burst 12); retry in 200 ms")

            // The session's calls are charged to its principal, not to the flooded address.
            for _ in 0..<20 { try await Self.listGrants(signedIn) }
            // Without a principal the address pays: signing in, and a call whose token is not a session.
            let latecomer = try Participant(on: node)
            _ = await LedgerSecurityTests.expectStatus(.resourceExhausted, "signing in from the flooded address") {
                _ = try await latecomer.client.sessionToken()
            }
            _ = await LedgerSecurityTests.expectStatus(.resourceExhausted, "a made-up token from the flooded address") {
                var options = CallOptions()
                options.metadata.add("Bearer hl_made-up", forKey: "authorization")
                _ = try await anonymous.listGrants(Healthledger_V1_ListGrantsRequest(), options: options)
            }

            clock.advance(by: .seconds(1))
            let refilled = await concurrently(8) { _ = try await anonymous.getChainHead(Healthledger_V1_GetChainHeadRequest()) }
            #expect(refilled.served == 5 && refilled.refused.count == 3 && refilled.failed.isEmpty)
        }
    }

    @Test("with the limits off, one principal and one address are served beyond any default burst")
    func limitsOff() async throws {
        try await withNode(perPrincipal: nil, perAddress: nil) { node, _ in
            let participant = try Participant(on: node)
            _ = try await participant.client.sessionToken()
            let anonymous = Healthledger_V1_LedgerClient(transport: try node.transport())
            // In waves below the node's 100 concurrent streams per connection.
            var reads = 0
            var heads = 0
            for _ in 0..<5 {
                reads += await concurrently(90) { try await Self.listGrants(participant) }.served
                heads += await concurrently(90) {
                    _ = try await anonymous.getChainHead(Healthledger_V1_GetChainHeadRequest())
                }.served
            }
            #expect(reads == 450 && heads == 450)
        }
    }
}

/// `healthledger serve`'s rate-limit flags and config keys, through the real binary.
@Suite("healthledger serve rate limits")
struct RateLimitCommandLineTests {
    @Test("the config file's address limit and the --rate-limit flag take effect; `status` past the limit exits 2 naming it")
    func serveFlagsAndConfigKeys() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        try Data(#"{"address_rate_limit": "2/min", "address_rate_burst": 2, "rate_limit": "5/s"}"#.utf8)
            .write(to: URL(fileURLWithPath: workspace.path + "/node.json"))
        let serve = workspace.start(
            [
                "serve", "--data-dir", workspace.path + "/data", "--port", "0", "--plaintext", "--log-level", "warning",
                "--config", "node.json", "--rate-limit", "off",
            ], server: "")
        try serve.run()
        defer {
            serve.terminate()
            serve.waitUntilExit()
        }
        let port = try CommandLineNode.listeningPort(of: serve)
        let status = { workspace.run(["status", "--plaintext", "--json"], server: "127.0.0.1:\(port)") }

        #expect(status().status == 0)
        #expect(status().status == 0)
        let refused = status()
        #expect(refused.status == 2 && refused.isOneLineError, "\(refused.stderr)")
        #expect(refused.stderr.contains("rate limit: address 127.0.0.1 is over its limit of 2/min (burst 2); retry in "))
    }

    @Test("a rate that does not parse, or a burst for a limit that is off, is bad usage naming the flag")
    func badValues() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let data = workspace.path + "/data"
        let fast = workspace.run(["serve", "--data-dir", data, "--address-rate-limit", "fast"], server: "")
        #expect(fast.status == 64 && fast.isOneLineError && fast.stderr.contains("--address-rate-limit fast"))
        let offBurst = workspace.run(["serve", "--data-dir", data, "--rate-limit", "off", "--rate-burst", "9"], server: "")
        #expect(offBurst.status == 64 && offBurst.stderr.contains("--rate-burst 9: --rate-limit is off"))
        let zeroBurst = workspace.run(["serve", "--data-dir", data, "--rate-limit", "10/s", "--rate-burst", "0"], server: "")
        #expect(zeroBurst.status == 64 && zeroBurst.stderr.contains("must be 1 to 1000000"))
        #expect(!FileManager.default.fileExists(atPath: data), "a refused setting opened the data directory")
    }

    @Test("a config file key no setting has (a misspelt one) is bad usage naming it, not a default silently taken")
    func unknownConfigKey() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let data = workspace.path + "/data"
        try Data(#"{"etcd_endpoints": ["http://127.0.0.1:2379"], "rate_limit": "5/s"}"#.utf8)
            .write(to: URL(fileURLWithPath: workspace.path + "/node.json"))
        let refused = workspace.run(["serve", "--data-dir", data, "--config", "node.json"], server: "")
        #expect(refused.status == 64 && refused.isOneLineError, "\(refused.stderr)")
        #expect(refused.stderr.contains(#"unknown key "etcd_endpoints""#))
        #expect(!FileManager.default.fileExists(atPath: data), "a refused setting opened the data directory")
    }
}
