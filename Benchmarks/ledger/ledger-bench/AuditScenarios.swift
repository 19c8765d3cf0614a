import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Synchronization

/// `audit-catchup`: one patient with many audit events (the patient's own queries, one event each), then one
/// client replays the whole trail from sequence 1 without follow (with `--proofs`, each event with its proof).
enum AuditCatchupScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let events = options.int("events", 200_000)
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 512)
        let decode = options.string("decode", "light")
        let streams = options.int("streams", 1)
        // What client libraries ask for by default: each event with its inclusion proof and checkpoint.
        let proofs = options.flag("proofs")
        let server = ServerUsage.from(&options)
        options.rejectUnknown()
        guard decode == "light" || decode == "full" else { BenchOptions.fail("--decode light or full") }

        let connections = try LedgerConnections(port: port, count: connectionCount)
        let patient = LedgerIdentity.generate()
        let auth = bearer(try await Sessions.token(for: patient, through: connections.transports[0]))
        let before = try await ChainHead.fetch(connections.transports[0])

        // Generate: the patient's own metadata-only queries; each commits one audit event.
        var query = Healthledger_V1_QueryRequest()
        query.patient = patient.id
        query.categories = [.labs]
        query.purpose = .treatment
        let request = query.serializedBytes()
        let issued = SharedCounter()
        let generationStart = Clock.now()
        await withDiscardingTaskGroup { group in
            for worker in 0..<inflight {
                let transport = connections.transport(for: worker)
                group.addTask {
                    while issued.next() < events {
                        do {
                            var started = false
                            for try await bytes in try await RawCalls.stream(
                                transport, Healthledger_V1_LedgerMethods.query, request, options: auth)
                            {
                                let message = try RawCalls.decode(Healthledger_V1_QueryResponse.self, bytes)
                                guard case .started(let opening)? = message.part, !started, opening.recordCount == 0 else {
                                    throw RPCError(.internalError, "unexpected \(message)")
                                }
                                started = true
                            }
                            guard started else { throw RPCError(.internalError, "no QueryStarted") }
                        } catch {
                            Report.failRun("audit-catchup", "generating events: \(error)")
                        }
                    }
                }
            }
        }
        let generationNs = Clock.now() - generationStart
        let after = try await ChainHead.fetch(connections.transports[0])
        guard after.treeSize - before.treeSize == UInt64(events) else {
            Report.failRun("audit-catchup", "\(after.treeSize - before.treeSize) audit entries committed, expected \(events)")
        }
        Report.progress(
            "audit-catchup: \(events) events generated in \(Format.ms(generationNs)) ms (\(Format.fixed(Double(events) / (Double(generationNs) / 1e9), 0))/s); replaying with \(decode) decoding")

        var replay = Healthledger_V1_AuditStreamRequest()
        replay.patient = patient.id
        replay.startSequence = 1
        replay.follow = false
        replay.includeProofs = proofs
        let replayRequest = replay.serializedBytes()
        let patientBytes = Array(patient.id.utf8)
        for round in 1...max(1, streams) {
            let usage = server?.begin()
            let clientUsage = ServerUsage.client.begin()
            let start = Clock.now()
            var count = 0
            var last: UInt64 = 0
            var completedAt: Int64 = 0
            do {
                for try await bytes in try await RawCalls.stream(
                    connections.transports[0], Healthledger_V1_LedgerMethods.auditStream, replayRequest, options: auth)
                {
                    let item = decode == "light" ? try AuditStreamReading.light(bytes) : try AuditStreamReading.full(bytes)
                    switch item {
                    case .event(let sequence, let eventPatient):
                        guard completedAt == 0, sequence > last, eventPatient == patientBytes else {
                            throw RPCError(.internalError, "event \(sequence) after \(last) (or wrong patient / after the replay)")
                        }
                        last = sequence
                        count += 1
                    case .replayCompleted:
                        completedAt = Clock.now()
                    }
                }
            } catch {
                Report.failRun("audit-catchup", "replay: \(error)")
            }
            guard count == events, completedAt != 0 else {
                Report.failRun("audit-catchup", "replayed \(count) events, expected \(events)")
            }
            let seconds = Double(completedAt - start) / 1e9
            let cpu = server?.percent(since: usage) ?? "-"
            let clientCPU = ServerUsage.client.percent(since: clientUsage)
            Report.result(
                "audit-catchup",
                [
                    "events_per_s": Format.fixed(Double(count) / seconds, 0), "events": "\(count)",
                    "seconds": Format.fixed(seconds, 3), "decode": decode, "proofs": "\(proofs)", "round": "\(round)",
                    "generated_per_s": Format.fixed(Double(events) / (Double(generationNs) / 1e9), 0),
                    "server_cpu_pct": cpu, "client_cpu_pct": clientCPU,
                ])
        }
        await connections.close()
    }
}

/// `audit-live`: a follower on the patient's AuditStream while a clinician queries at a fixed rate; latency from
/// a query's QueryStarted arriving (its audit event is durable then) to the follower receiving that event.
enum AuditLiveScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let rate = options.double("rate", 1_000)
        let seconds = options.double("seconds", 10)
        let connectionCount = options.int("connections", 4)
        _ = ServerUsage.from(&options)
        options.rejectUnknown()

        // Connection 0 carries the follower alone; queries go over the others.
        let connections = try LedgerConnections(port: port, count: connectionCount + 1)
        let fixture = try await QueryFixture.make(
            patients: 1, records: 3, recordBytes: 64, connections: connections, scenario: "audit-live")
        let patient = fixture.patients[0]
        let patientIdentityToken = try await Sessions.token(for: patient.identity, through: connections.transports[0])
        let clinicianAuth = bearer(try await Sessions.token(for: fixture.clinician, through: connections.transports[1]))
        for transport in connections.transports { _ = try await ChainHead.fetch(transport) }

        let received = SharedTable()
        let ready = SharedFlag()
        var follow = Healthledger_V1_AuditStreamRequest()
        follow.patient = patient.id
        follow.startSequence = 0
        follow.follow = true
        let followRequest = follow.serializedBytes()
        let clinicianID = fixture.clinician.id
        let followerTransport = connections.transports[0]
        let follower = Task {
            do {
                var last: UInt64 = 0
                for try await bytes in try await RawCalls.stream(
                    followerTransport, Healthledger_V1_LedgerMethods.auditStream, followRequest,
                    options: bearer(patientIdentityToken))
                {
                    let at = Clock.now()
                    let message = try RawCalls.decode(Healthledger_V1_AuditStreamResponse.self, bytes)
                    switch message.item {
                    case .replayCompleted?: ready.set()
                    case .event(let logged)?:
                        guard let event = logged.event, event.sequence > last else {
                            throw RPCError(.internalError, "follower: event out of order after \(last)")
                        }
                        last = event.sequence
                        if event.actor == clinicianID { received.withLock { $0[event.sequence] = at } }
                    case nil: throw RPCError(.internalError, "empty AuditStreamResponse")
                    }
                }
                if !Task.isCancelled { Report.failRun("audit-live", "the follower's stream ended") }
            } catch {
                if !Task.isCancelled { Report.failRun("audit-live", "follower: \(error)") }
            }
        }
        while !ready.isSet { try await Task.sleep(for: .milliseconds(1)) }
        Report.progress("audit-live: follower ready; querying at \(Format.fixed(rate, 0))/s for \(seconds) s")

        let answered = SharedTable()
        let queryConnections = connectionCount
        let schedule = await OpenLoop.run(rate: rate, seconds: seconds) { index, _ in
            do {
                let timing = try await QueryCall.run(
                    patient, through: connections.transports[1 + index % queryConnections], options: clinicianAuth)
                answered.withLock { $0[timing.auditSequence] = timing.startedAt }
            } catch {
                Report.failRun("audit-live", "query: \(error)")
            }
        }
        let expected = answered.withLock { $0 }
        guard expected.count == schedule.launched else {
            Report.failRun("audit-live", "\(expected.count) distinct audit sequences for \(schedule.launched) queries")
        }
        // Every event must reach the follower; allow it 5 s after the last query.
        let waitUntil = Clock.now() + 5_000_000_000
        while received.withLock({ $0.count }) < expected.count && Clock.now() < waitUntil {
            try await Task.sleep(for: .milliseconds(5))
        }
        follower.cancel()
        let got = received.withLock { $0 }
        var latencies = LatencySamples()
        var followerFirst = 0
        for (sequence, answeredAt) in expected {
            guard let at = got[sequence] else {
                Report.failRun("audit-live", "the follower never received event \(sequence) (\(got.count) of \(expected.count))")
            }
            if at < answeredAt { followerFirst += 1 }
            latencies.add(at - answeredAt)
        }
        guard got.count == expected.count else {
            Report.failRun("audit-live", "the follower received \(got.count) events of the clinician, expected \(expected.count)")
        }
        let p = latencies.percentiles([50, 99, 100])
        Report.result(
            "audit-live",
            [
                "p50_ms": Format.ms(p[0]), "p99_ms": Format.ms(p[1]), "max_ms": Format.ms(p[2]),
                "events": "\(expected.count)", "rate_per_s": Format.fixed(rate, 0),
                "follower_first": "\(followerFirst)",
                "launch_lag_p99_ms": Format.ms(schedule.launchLag.percentiles([99])[0]),
            ])
        await connections.close()
    }
}
