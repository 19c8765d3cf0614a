import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Synchronization

/// Sends prepared transactions: `inflight` workers each take the next patient and send that patient's
/// transactions one after the other (one in flight per patient, many patients at once). Every call must
/// succeed with the expected transaction id, or the run stops.
enum TransactionLoad {
    /// What one run of the load did.
    struct Outcome: Sendable {
        var committed: Int
        var elapsedNs: Int64
        var latencies: LatencySamples
    }

    static func send(
        _ patients: [PatientCalls], connections: LedgerConnections, inflight: Int,
        scenario: String
    ) async -> Outcome {
        let nextPatient = SharedCounter()
        let start = Clock.now()
        var total = Outcome(committed: 0, elapsedNs: 0, latencies: LatencySamples())
        await withTaskGroup(of: (Int, LatencySamples).self) { group in
            for worker in 0..<min(inflight, patients.count) {
                let transport = connections.transport(for: worker)
                group.addTask {
                    var committed = 0
                    var latencies = LatencySamples()
                    while true {
                        let index = nextPatient.next()
                        guard index < patients.count else { break }
                        for call in patients[index].calls {
                            let sent = Clock.now()
                            do {
                                try await commit(call, through: transport)
                            } catch {
                                Report.failRun(
                                    scenario, "\(call.kind.rawValue) of patient \(patients[index].patient): \(error)")
                            }
                            latencies.add(Clock.now() - sent)
                            committed += 1
                        }
                    }
                    return (committed, latencies)
                }
            }
            for await (committed, latencies) in group {
                total.committed += committed
                total.latencies.merge(latencies)
            }
        }
        total.elapsedNs = Clock.now() - start
        return total
    }

    /// Sends one prepared transaction and checks the answer names it.
    static func commit(_ call: PreparedCall, through transport: HTTP2ClientTransport) async throws {
        switch call.kind {
        case .grant:
            let bytes = try await RawCalls.single(transport, Healthledger_V1_LedgerMethods.grant, call.requests)
            let response = try RawCalls.decode(Healthledger_V1_GrantResponse.self, bytes)
            guard response.grantId == call.transactionID, response.receipt?.transactionId == call.transactionID else {
                throw RPCError(.internalError, "answered grant_id \(response.grantId), expected \(call.transactionID)")
            }
        case .write:
            let bytes = try await RawCalls.single(transport, Healthledger_V1_LedgerMethods.write, call.requests)
            let response = try RawCalls.decode(Healthledger_V1_WriteResponse.self, bytes)
            guard response.recordId == call.transactionID else {
                throw RPCError(.internalError, "answered record_id \(response.recordId), expected \(call.transactionID)")
            }
        }
    }
}

/// `tx`: signed Grant (or Write) transactions committed durably, pre-signed before the timed phase.
enum TransactionScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let patientCount = options.int("patients", 2_000)
        let perPatient = options.int("per-patient", 20)
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 512)
        let kind = TransactionKind(rawValue: options.string("kind", "grant")) ?? .grant
        let contentBytes = options.int("content-bytes", 1024)
        let server = ServerUsage.from(&options)
        let nodePorts = try ClusterPorts.parse(options.string("ports", ""), default: port)
        options.rejectUnknown()
        let scenario = kind == .grant ? "tx" : "tx-write"

        let connections = try LedgerConnections(ports: nodePorts, count: connectionCount)
        let before = try await ChainHead.fetch(connections.transports[0])
        let clinician = LedgerIdentity.generate()
        let signStart = Clock.now()
        let patients = await Presigner.prepare(
            patients: patientCount, perPatient: perPatient, kind: kind, grantee: clinician.id,
            contentBytes: contentBytes, chainID: before.chainID)
        let expected = patientCount * perPatient
        Report.progress(
            "\(scenario): signed \(expected) \(kind.rawValue) transactions in \(Format.ms(Clock.now() - signStart)) ms on \(usableCores()) core(s); sending over \(connectionCount) connections, \(inflight) in flight")
        // Open every connection before the clock starts.
        for transport in connections.transports { _ = try await ChainHead.fetch(transport) }

        let usage = server?.begin()
        let clientUsage = ServerUsage.client.begin()
        let outcome = await TransactionLoad.send(
            patients, connections: connections, inflight: inflight, scenario: scenario)
        let cpu = server?.percent(since: usage) ?? "-"
        let clientCPU = ServerUsage.client.percent(since: clientUsage)
        guard outcome.committed == expected else {
            Report.failRun(scenario, "\(outcome.committed) committed, expected \(expected)")
        }
        // Every node's log must hold exactly the committed transactions (a cluster's other nodes apply the last
        // blocks a moment after the node that answered).
        var after = try await ChainHead.fetch(connections.transports[0])
        for node in nodePorts.indices {
            let head = try await ChainHead.waitFor(
                treeSize: before.treeSize + UInt64(expected), through: connections.transports[node])
            guard head.treeSize - before.treeSize == UInt64(expected) else {
                Report.failRun(
                    scenario,
                    "node \(node + 1)'s log grew by \(head.treeSize - before.treeSize) entries, expected \(expected)")
            }
            if node == 0 { after = head }
        }
        let rate = Double(outcome.committed) / (Double(outcome.elapsedNs) / 1e9)
        let p = outcome.latencies.percentiles([50, 99])
        Report.result(
            scenario,
            [
                "tx_per_s": Format.fixed(rate, 0), "p50_ms": Format.ms(p[0]), "p99_ms": Format.ms(p[1]),
                "committed": "\(outcome.committed)", "blocks": "\(after.height - before.height)",
                "seconds": Format.fixed(Double(outcome.elapsedNs) / 1e9, 2), "connections": "\(connectionCount)",
                "nodes": "\(nodePorts.count)",
                "inflight": "\(min(inflight, patientCount))", "server_cpu_pct": cpu, "client_cpu_pct": clientCPU,
            ])
        await connections.close()
    }
}
