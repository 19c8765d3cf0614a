import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// A Revoke is effective for every request decided after the Revoke RPC returns, also under load.
    @Suite("Revocation under load")
    struct RevocationUnderLoad {
        /// One query of the load: when it started and finished (test process clock), and how it ended.
        struct Attempt: Sendable {
            enum Outcome: Sendable, Equatable {
                case allowed
                case denied
                case failed(String)
            }

            var started: ContinuousClock.Instant
            var finished: ContinuousClock.Instant
            var outcome: Outcome
        }

        @Test(
            "clinician tasks query in a tight loop while the patient revokes: no query started after the Revoke returned is allowed"
        )
        func revokeUnderConcurrentQueries() async throws {
            // Four readers querying as fast as the node answers are far above a principal's rate limit by design.
            try await withLedgerNode(configure: { $0.rateLimits = .unlimited }) { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = LedgerIdentity.generate()
                let granted = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs]))
                // Four connections of the same clinician, each with its session ready before the clock starts.
                let readers = try (0..<4).map { _ in try node.client(clinician) }
                for reader in readers { _ = try await reader.sessionToken() }

                let start = ContinuousClock.now
                // The load's length and the revoke's time are scaled for a slow build, so that queries still finish on
                // both sides of the revoke.
                let loadEnds = start + LatencyBound.allowing(.seconds(2))
                let query = Healthledger_V1_QueryRequest.of(patient.id, [.labs], includeContent: false)
                let load = Task {
                    await withTaskGroup(of: [Attempt].self) { group in
                        for reader in readers {
                            group.addTask {
                                var attempts: [Attempt] = []
                                while ContinuousClock.now < loadEnds {
                                    let started = ContinuousClock.now
                                    let outcome: Attempt.Outcome
                                    do {
                                        // A deadline, so that a query the node never answers fails the test.
                                        let options = try await reader.authenticated(
                                            CallOptions(timeout: LatencyBound.allowing(.seconds(5))))
                                        _ = try await drain(try await reader.stub.query(query, options: options))
                                        outcome = .allowed
                                    } catch let error as RPCError where error.code == .permissionDenied {
                                        outcome = .denied
                                    } catch {
                                        outcome = .failed("\(error)")
                                    }
                                    attempts.append(Attempt(started: started, finished: .now, outcome: outcome))
                                }
                                return attempts
                            }
                        }
                        var all: [Attempt] = []
                        for await attempts in group { all += attempts }
                        return all
                    }
                }

                try await Task.sleep(until: start + LatencyBound.allowing(.seconds(1)), clock: .continuous)
                let revokeSent = ContinuousClock.now
                _ = try await patient.client.revoke(grantID: granted.grantId)
                let revokeReturned = ContinuousClock.now
                let attempts = await load.value

                let failures = attempts.compactMap { attempt -> String? in
                    if case .failed(let reason) = attempt.outcome { reason } else { nil }
                }
                #expect(failures.isEmpty, "queries failed: \(failures.prefix(3))")
                let lateAllowed = attempts.filter { $0.started > revokeReturned && $0.outcome == .allowed }
                #expect(
                    lateAllowed.isEmpty,
                    "\(lateAllowed.count) queries started after the Revoke returned were allowed, the first \(lateAllowed.map { $0.started - revokeReturned }.min() ?? .zero) after it"
                )
                // The load really straddled the revoke.
                #expect(attempts.contains { $0.finished < revokeSent && $0.outcome == .allowed })
                #expect(attempts.filter { $0.started > revokeReturned && $0.outcome == .denied }.count >= 4)

                // Every decision, allowed or denied, is in the patient's audit trail.
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(
                    trail.filter { $0.outcome == .allowed }.count == attempts.filter { $0.outcome == .allowed }.count)
                #expect(trail.filter { $0.outcome == .denied }.count == attempts.filter { $0.outcome == .denied }.count)
                print(
                    "revocation under load: \(attempts.count) queries, revoke took \(revokeReturned - revokeSent), \(attempts.filter { $0.started > revokeReturned }.count) started after it"
                )
            }
        }
    }
}
