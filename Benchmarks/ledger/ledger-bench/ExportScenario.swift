import Glibc
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore

/// `export`: the patient's FHIR export (ExportFhirBundle) of one patient with many records and audit events. Setup
/// through the node itself: the patient grants WRITE to `writers` principals, who write `records` lab records of
/// `record-bytes` bytes in parallel, and READ on labs to a clinician, whose `events` queries of one record each are
/// the patient's audit events. Then the patient exports `repeats` times, one after the other: the time from the
/// call to the Bundle's last byte, the time to the first message (the export's audit events are committed by
/// then), and the Bundle's size. With --server-pid, the node's resident memory before and after the exports.
enum ExportScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let recordCount = options.int("records", 10_000)
        let eventCount = options.int("events", 20_000)
        let recordBytes = options.int("record-bytes", 256)
        let writerCount = options.int("writers", 16)
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 256)
        let repeats = options.int("repeats", 5)
        let serverPID = options.int("server-pid", 0)
        options.rejectUnknown()

        let connections = try LedgerConnections(port: port, count: connectionCount)
        let chainID = try await ChainHead.fetch(connections.transports[0]).chainID
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let writers = (0..<writerCount).map { _ in LedgerIdentity.generate() }
        let createdAt = Presigner.wallClockMs()
        Report.progress(
            "export: setup: \(recordCount) records of \(recordBytes) B by \(writerCount) writers, \(eventCount) audited queries"
        )

        let patientSigner = TransactionSigner(identity: patient, chainID: chainID)
        var grants: [PreparedCall] = []
        for (index, writer) in writers.enumerated() {
            var grant = Healthledger_V1_Grant()
            grant.patient = patient.id
            grant.grantee = writer.id
            grant.actions = [.write]
            grant.categories = [.labs]
            grant.purposes = [.treatment]
            grant.effect = .permit
            let signed = patientSigner.sign(
                .grant(grant), sequence: UInt64(index + 1), createdAt: createdAt, attachPublicKey: index == 0)
            var request = Healthledger_V1_GrantRequest()
            request.transaction = signed
            grants.append(
                PreparedCall(
                    kind: .grant, requests: [request.serializedBytes()],
                    transactionID: TransactionSigner.transactionID(of: signed)))
        }
        grants.append(
            Presigner.grantCall(
                signer: patientSigner, grantee: clinician.id, sequence: UInt64(writerCount + 1), createdAt: createdAt))
        _ = await TransactionLoad.send(
            [PatientCalls(patient: patient.id, calls: grants)], connections: connections, inflight: 1,
            scenario: "export (grants)")

        let patientID = patient.id
        let writes: [PatientCalls] = await parallelMap(writerCount) { writer in
            let signer = TransactionSigner(identity: writers[writer], chainID: chainID)
            let count = recordCount / writerCount + (writer < recordCount % writerCount ? 1 : 0)
            let calls = (0..<count).map { index in
                Presigner.writeCall(
                    signer: signer, content: SecureRandom.bytes(recordBytes), sequence: UInt64(index + 1),
                    createdAt: createdAt, patient: patientID)
            }
            return PatientCalls(patient: writers[writer].id, calls: calls)
        }
        let written = await TransactionLoad.send(
            writes, connections: connections, inflight: writerCount, scenario: "export (writes)")
        let recordIDs = writes.flatMap { $0.calls.map(\.transactionID) }
        Report.progress(
            "export: \(written.committed) records written in \(Format.fixed(Double(written.elapsedNs) / 1e9, 1)) s")

        let clinicianAuth = bearer(try await Sessions.token(for: clinician, through: connections.transports[0]))
        let nextQuery = SharedCounter()
        let queryStart = Clock.now()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<inflight {
                let transport = connections.transport(for: worker)
                group.addTask {
                    while true {
                        let index = nextQuery.next()
                        guard index < eventCount else { break }
                        var request = Healthledger_V1_QueryRequest()
                        request.patient = patientID
                        request.categories = [.labs]
                        request.purpose = .treatment
                        request.recordIds = [recordIDs[index % recordIDs.count]]
                        do {
                            let stream = try await RawCalls.stream(
                                transport, Healthledger_V1_LedgerMethods.query, request.serializedBytes(),
                                options: clinicianAuth)
                            var messages = 0
                            for try await _ in stream { messages += 1 }
                            guard messages == 2 else { throw RPCError(.internalError, "\(messages) messages") }
                        } catch {
                            Report.failRun("export", "query \(index): \(error)")
                        }
                    }
                }
            }
        }
        Report.progress(
            "export: \(eventCount) queries in \(Format.fixed(Double(Clock.now() - queryStart) / 1e9, 1)) s")

        let patientAuth = bearer(try await Sessions.token(for: patient, through: connections.transports[0]))
        var request = Healthledger_V1_ExportFhirBundleRequest()
        request.patient = patient.id
        let memoryBefore = serverPID > 0 ? Self.memory(of: serverPID) : nil
        var totals: [Int64] = []
        var firstMessages: [Int64] = []
        var sizes: [Int] = []
        for attempt in 0..<repeats {
            let start = Clock.now()
            var firstMessage: Int64 = 0
            var size = 0
            var tail: [UInt8] = []
            var started: Healthledger_V1_ExportFhirBundleStarted?
            let stream = try await RawCalls.stream(
                connections.transports[0], Healthledger_V1_LedgerMethods.exportFhirBundle, request.serializedBytes(),
                options: patientAuth)
            for try await bytes in stream {
                let message = try RawCalls.decode(Healthledger_V1_ExportFhirBundleResponse.self, bytes)
                switch message.part {
                case .started(let opening)?:
                    firstMessage = Clock.now() - start
                    started = opening
                case .bundleChunk(let chunk)?:
                    size += chunk.count
                    tail = Array((tail + chunk).suffix(3))
                case nil: throw RPCError(.internalError, "empty ExportFhirBundleResponse")
                }
            }
            let total = Clock.now() - start
            // Audit events: the queries, and one per 10,000 records for each export so far, this one included.
            let exportEvents = UInt64((recordCount + 9_999) / 10_000)
            guard let started, started.recordCount == UInt64(recordCount),
                started.auditEventCount == UInt64(eventCount) + exportEvents * UInt64(attempt + 1),
                tail == Array("]}\n".utf8)
            else {
                Report.failRun(
                    "export",
                    "export \(attempt + 1): \(started?.recordCount ?? 0) records, \(started?.auditEventCount ?? 0) events, ends \(tail)"
                )
            }
            Report.progress(
                "export \(attempt + 1): \(Format.fixed(Double(total) / 1e9, 2)) s, first message after \(Format.ms(firstMessage)) ms, \(size) bytes"
            )
            totals.append(total)
            firstMessages.append(firstMessage)
            sizes.append(size)
        }
        let memoryAfter = serverPID > 0 ? Self.memory(of: serverPID) : nil
        let sorted = totals.sorted()
        let median = sorted[sorted.count / 2]
        let mib = Double(sizes.last ?? 0) / 1_048_576
        Report.result(
            "export",
            [
                "records": "\(recordCount)", "audit_events": "\(eventCount)",
                "min_s": Format.fixed(Double(sorted[0]) / 1e9, 2),
                "median_s": Format.fixed(Double(median) / 1e9, 2),
                "first_message_median_ms": Format.ms(firstMessages.sorted()[firstMessages.count / 2]),
                "bundle_mib": Format.fixed(mib, 1), "mib_per_s": Format.fixed(mib / (Double(median) / 1e9), 1),
                "server_rss_before_mib": memoryBefore.map { Format.fixed(Double($0.rss) / 1024, 1) } ?? "-",
                "server_rss_after_mib": memoryAfter.map { Format.fixed(Double($0.rss) / 1024, 1) } ?? "-",
                "server_peak_rss_before_mib": memoryBefore.map { Format.fixed(Double($0.peak) / 1024, 1) } ?? "-",
                "server_peak_rss_after_mib": memoryAfter.map { Format.fixed(Double($0.peak) / 1024, 1) } ?? "-",
            ])
    }

    /// VmRSS and VmHWM of process `pid`, in KiB, from /proc.
    static func memory(of pid: Int) -> (rss: Int, peak: Int)? {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(file) }
        var status: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            status += buffer[0..<count]
        }
        var rss = 0
        var peak = 0
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n") {
            let text = String(line)
            let value = Int(text.split { $0 == " " || $0 == "\t" }.dropFirst().first ?? "") ?? 0
            if text.hasPrefix("VmRSS:") { rss = value }
            if text.hasPrefix("VmHWM:") { peak = value }
        }
        return (rss, peak)
    }
}
