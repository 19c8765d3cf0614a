import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Synchronization

/// Patients with small lab records and a READ grant to one clinician, set up through the node itself.
struct QueryFixture: Sendable {
    /// What a query of one patient must return.
    struct Patient: Sendable {
        var identity: LedgerIdentity
        var id: String
        var recordIDs: [String]
        var contents: [[UInt8]]
        var request: [UInt8]
    }

    var clinician: LedgerIdentity
    var patients: [Patient]

    /// Writes `records` records of `recordBytes` bytes for each of `patientCount` new patients and grants the
    /// clinician READ on labs.
    static func make(
        patients patientCount: Int, records: Int, recordBytes: Int, connections: LedgerConnections, scenario: String
    ) async throws -> QueryFixture {
        let chainID = try await ChainHead.fetch(connections.transports[0]).chainID
        let clinician = LedgerIdentity.generate()
        let createdAt = Presigner.wallClockMs()
        let prepared: [(PatientCalls, Patient)] = await parallelMap(patientCount) { _ in
            let identity = LedgerIdentity.generate()
            let signer = TransactionSigner(identity: identity, chainID: chainID)
            var calls: [PreparedCall] = []
            var contents: [[UInt8]] = []
            for index in 0..<records {
                let content = SecureRandom.bytes(recordBytes)
                contents.append(content)
                calls.append(
                    Presigner.writeCall(signer: signer, content: content, sequence: UInt64(index + 1), createdAt: createdAt))
            }
            calls.append(
                Presigner.grantCall(
                    signer: signer, grantee: clinician.id, sequence: UInt64(records + 1), createdAt: createdAt))
            var request = Healthledger_V1_QueryRequest()
            request.patient = identity.id
            request.categories = [.labs]
            request.purpose = .treatment
            request.includeContent = true
            return (
                PatientCalls(patient: identity.id, calls: calls),
                Patient(
                    identity: identity, id: identity.id, recordIDs: calls.prefix(records).map(\.transactionID), contents: contents,
                    request: request.serializedBytes())
            )
        }
        _ = await TransactionLoad.send(
            prepared.map(\.0), connections: connections, inflight: 256, scenario: scenario + " (setup)")
        return QueryFixture(clinician: clinician, patients: prepared.map(\.1))
    }
}

/// What one query's stream showed.
struct QueryTiming: Sendable {
    /// When QueryStarted arrived (the audit event is durable by then).
    var startedAt: Int64
    /// When the stream ended with OK.
    var finishedAt: Int64
    var auditSequence: UInt64
}

enum QueryCall {
    /// Runs the query of `patient` and checks it released exactly the patient's records and contents.
    static func run(
        _ patient: QueryFixture.Patient, through transport: HTTP2ClientTransport, options: CallOptions
    ) async throws -> QueryTiming {
        let stream = try await RawCalls.stream(transport, Healthledger_V1_LedgerMethods.query, patient.request, options: options)
        var startedAt: Int64 = 0
        var auditSequence: UInt64 = 0
        var record = -1
        var received = 0
        for try await bytes in stream {
            let message = try RawCalls.decode(Healthledger_V1_QueryResponse.self, bytes)
            switch message.part {
            case .started(let started)?:
                guard startedAt == 0, started.recordCount == UInt32(patient.recordIDs.count), started.auditSequence > 0
                else { throw RPCError(.internalError, "QueryStarted \(started) for \(patient.recordIDs.count) records") }
                startedAt = Clock.now()
                auditSequence = started.auditSequence
            case .record(let found)?:
                if record >= 0 && received != patient.contents[record].count {
                    throw RPCError(.internalError, "record \(record) had \(received) content bytes")
                }
                record += 1
                received = 0
                guard startedAt != 0, record < patient.recordIDs.count, found.recordId == patient.recordIDs[record] else {
                    throw RPCError(.internalError, "unexpected record \(found.recordId) at position \(record)")
                }
            case .chunk(let chunk)?:
                guard record >= 0, chunk.offsetBytes == UInt64(received),
                    chunk.data[...] == patient.contents[record][received..<min(patient.contents[record].count, received + chunk.data.count)]
                else { throw RPCError(.internalError, "content of record \(record) differs") }
                received += chunk.data.count
            case nil:
                throw RPCError(.internalError, "empty QueryResponse")
            }
        }
        guard record == patient.recordIDs.count - 1, record < 0 || received == patient.contents[record].count else {
            throw RPCError(.internalError, "stream ended after record \(record) with \(received) bytes")
        }
        return QueryTiming(startedAt: startedAt, finishedAt: Clock.now(), auditSequence: auditSequence)
    }
}

/// `query`: audited queries by a clinician, at maximum concurrency (closed loop), then at a fixed rate.
enum QueryScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let patientCount = options.int("patients", 200)
        let records = options.int("records", 3)
        let recordBytes = options.int("record-bytes", 64)
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 512)
        let seconds = options.double("seconds", 10)
        let fixedRate = options.double("rate", 0)
        let rateFraction = options.double("rate-fraction", 0.5)
        let server = ServerUsage.from(&options)
        options.rejectUnknown()

        let connections = try LedgerConnections(port: port, count: connectionCount)
        let fixture = try await QueryFixture.make(
            patients: patientCount, records: records, recordBytes: recordBytes, connections: connections,
            scenario: "query")
        let token = try await Sessions.token(for: fixture.clinician, through: connections.transports[0])
        let auth = bearer(token)
        for transport in connections.transports { _ = try await ChainHead.fetch(transport) }
        let before = try await ChainHead.fetch(connections.transports[0])
        Report.progress(
            "query: \(patientCount) patients × \(records) records of \(recordBytes) B; closed loop, \(inflight) in flight over \(connectionCount) connections, \(seconds) s")

        // Closed loop: every worker sends its next query as soon as the last one ended.
        var usage = server?.begin()
        let clientUsage = ServerUsage.client.begin()
        let start = Clock.now()
        let deadline = start + Int64(seconds * 1e9)
        var ok = 0
        var latencies = LatencySamples()
        let patients = fixture.patients
        await withTaskGroup(of: (Int, LatencySamples).self) { group in
            for worker in 0..<inflight {
                let transport = connections.transport(for: worker)
                group.addTask {
                    var done = 0
                    var samples = LatencySamples()
                    var index = worker
                    while Clock.now() < deadline {
                        let sent = Clock.now()
                        do {
                            _ = try await QueryCall.run(patients[index % patients.count], through: transport, options: auth)
                        } catch {
                            Report.failRun("query", "query of \(patients[index % patients.count].id): \(error)")
                        }
                        samples.add(Clock.now() - sent)
                        done += 1
                        index += inflight
                    }
                    return (done, samples)
                }
            }
            for await (done, samples) in group {
                ok += done
                latencies.merge(samples)
            }
        }
        let elapsed = Clock.now() - start
        var cpu = server?.percent(since: usage) ?? "-"
        let clientCPU = ServerUsage.client.percent(since: clientUsage)
        let peak = Double(ok) / (Double(elapsed) / 1e9)
        let after = try await ChainHead.fetch(connections.transports[0])
        guard after.treeSize - before.treeSize == UInt64(ok) else {
            Report.failRun("query", "\(ok) queries answered but \(after.treeSize - before.treeSize) audit entries committed")
        }
        let p = latencies.percentiles([50, 99])
        Report.result(
            "query",
            [
                "req_per_s": Format.fixed(peak, 0), "p50_ms": Format.ms(p[0]), "p99_ms": Format.ms(p[1]),
                "queries": "\(ok)", "blocks": "\(after.height - before.height)",
                "seconds": Format.fixed(Double(elapsed) / 1e9, 2), "inflight": "\(inflight)", "server_cpu_pct": cpu, "client_cpu_pct": clientCPU,
            ])

        // Open loop at a fraction of the peak just measured.
        let rate = fixedRate > 0 ? fixedRate : (peak * rateFraction).rounded()
        Report.progress("query: fixed rate \(Format.fixed(rate, 0))/s for \(seconds) s")
        let samples = SharedSamples()
        let answered = SharedCounter()
        let openBefore = try await ChainHead.fetch(connections.transports[0])
        usage = server?.begin()
        let schedule = await OpenLoop.run(rate: rate, seconds: seconds) { index, due in
            let patient = patients[index % patients.count]
            do {
                let timing = try await QueryCall.run(patient, through: connections.transport(for: index), options: auth)
                samples.add(timing.startedAt - due, to: "started")
                samples.add(timing.finishedAt - due, to: "finished")
                _ = answered.next()
            } catch {
                Report.failRun("query-fixed-rate", "query of \(patient.id): \(error)")
            }
        }
        cpu = server?.percent(since: usage) ?? "-"
        let openAfter = try await ChainHead.fetch(connections.transports[0])
        let done = answered.current
        guard done == schedule.launched, openAfter.treeSize - openBefore.treeSize == UInt64(done) else {
            Report.failRun("query-fixed-rate", "\(done) of \(schedule.launched) answered, \(openAfter.treeSize - openBefore.treeSize) audit entries")
        }
        let started = samples.series("started").percentiles([50, 99])
        let finished = samples.series("finished").percentiles([50, 99])
        let lag = schedule.launchLag.percentiles([99])
        Report.result(
            "query-fixed-rate",
            [
                "rate_per_s": Format.fixed(rate, 0),
                "achieved_per_s": Format.fixed(Double(done) / (Double(schedule.elapsedNs) / 1e9), 0),
                "commit_p50_ms": Format.ms(started[0]), "commit_p99_ms": Format.ms(started[1]),
                "p50_ms": Format.ms(finished[0]), "p99_ms": Format.ms(finished[1]),
                "launch_lag_p99_ms": Format.ms(lag[0]), "queries": "\(done)",
                "blocks": "\(openAfter.height - openBefore.height)", "server_cpu_pct": cpu,
            ])
        await connections.close()
    }
}
