import AccessPolicy
import FHIRMapping
import HealthLedgerProtos
import LedgerDomain
import LedgerStorage
import RPCCore

extension LedgerService {
    /// Bundle text per response message: the API's chunk limit, 1 MiB.
    static let exportChunkSize = 1 << 20
    /// Largest FHIR record content spliced into the Bundle as its resource; a larger one is exported as a
    /// DocumentReference, so that checking a record never holds more than this in memory.
    static let largestEmbeddedResource = 16 << 20
    /// Audit events read back from the block log per lock hold; few, since one event may list 10,000 records.
    static let exportAuditBatchSize = 64

    public func exportFhirBundle(
        request: Healthledger_V1_ExportFhirBundleRequest,
        responses: ResponseWriter<Healthledger_V1_ExportFhirBundleResponse>, context: ServerContext
    ) async throws {
        let caller = try runtime.authenticate(context)
        if !request.unknownFields.isEmpty { throw InputValidation.invalid("request", "unknown fields") }
        let patient = try InputValidation.principal(request.patient, field: "patient")
        try await runtime.awaitReadIndex()
        let now = runtime.now()
        guard caller == patient else {
            // The patient sees who tried to take a copy of their data.
            _ = try await runtime.commitAudit(
                AuditEvents.exportRefused(caller: caller.text, patient: patient.text, now: now))
            throw RPCError(.permissionDenied, "only the patient may export their own data")
        }

        // Decide, and choose the records and grants, against one committed state: the export is a read by the
        // patient of every category, sensitive ones included, for PATIENT_REQUEST.
        let accessRequest = AccessRequest(
            caller: caller.text, patient: patient.text, action: .read, categories: .every, asksAllCategories: false,
            purpose: .patientRequest, now: now)
        typealias Snapshot = (
            decision: Decision, records: [RecordEntry], grants: [(GrantDetail, Healthledger_V1_GrantState)]
        )
        let (decision, records, grants) = runtime.cell.read { state -> Snapshot in
            let policy = state.policies[patient.text]
            let decision = PolicyEngine.decide(accessRequest, policy: policy)
            guard decision.isAllowed else { return (decision, [], []) }
            let records = state.records.rows(of: patient.text).map { state.records.entry(at: Int($0)) }
            var grants: [(GrantDetail, Healthledger_V1_GrantState)] = []
            for index in 0..<state.grants.count where state.grants.patient(at: index) == patient.text {
                let detail = state.grants.detail(at: index)
                grants.append((detail, Self.state(of: detail, rule: policy?.grant(id: detail.id), now: now)))
            }
            return (decision, records, grants)
        }
        guard decision.isAllowed else { throw RPCError(.permissionDenied, decision.reason) }

        // Log before release: every record the Bundle holds is listed in a committed audit event before its first
        // byte leaves the node.
        let perEvent = min(max(1, runtime.configuration.exportRecordsPerAuditEvent), 10_000)
        let parts = max(1, (records.count + perEvent - 1) / perEvent)
        var logged: [Healthledger_V1_LoggedAuditEvent] = []
        var sequences: [UInt64] = []
        for part in 0..<parts {
            let start = part * perEvent
            let slice = records[start..<min(records.count, start + perEvent)]
            let audit = try await runtime.commitAudit(
                AuditEvents.export(
                    patient: patient.text, decision: decision, released: slice, part: part + 1, parts: parts,
                    total: records.count, now: now))
            var event = Healthledger_V1_LoggedAuditEvent()
            event.event = audit.event
            event.ledgerEntry = audit.ledgerEntry
            event.proof = try runtime.entryProof(
                entryIndex: audit.event.entryIndex, blockHeight: audit.event.blockHeight)
            logged.append(event)
            sequences.append(audit.event.sequence)
        }
        let firstSequence = sequences[0]
        let lastSequence = sequences[sequences.count - 1]

        var grantRecords: [Healthledger_V1_GrantRecord] = []
        grantRecords.reserveCapacity(grants.count)
        for (detail, grantState) in grants {
            grantRecords.append(
                try Self.wire(detail, state: grantState, ledgerEntry: try runtime.ledgerEntry(at: detail.position)))
        }
        let consents = grantRecords.map { ConsentMapping.consent(for: $0, now: now) }
        let auditSequences = runtime.cell.read { state in
            Array((state.auditByPatient[patient.text] ?? []).prefix { $0 <= lastSequence })
        }

        var started = Healthledger_V1_ExportFhirBundleStarted()
        started.recordCount = UInt64(records.count)
        started.consentCount = UInt64(consents.count)
        started.auditEventCount = UInt64(auditSequences.count)
        started.auditEvents = logged
        var opening = Healthledger_V1_ExportFhirBundleResponse()
        opening.part = .started(started)
        try await responses.write(opening)

        var bundle = PatientExportBundle(
            chainID: runtime.chainID, exportSequence: firstSequence, timestampUnixMs: now)
        var output = BundleChunks(responses: responses, chunkSize: Self.exportChunkSize)
        try await output.append(bundle.opening())
        for record in records {
            try await output.append(try exportEntry(of: record, in: &bundle))
        }
        for consent in consents {
            try await output.append(bundle.entry(consent))
        }
        var scan = BlockReader.Scan()
        for batchStart in stride(from: 0, to: auditSequences.count, by: Self.exportAuditBatchSize) {
            let sequences = auditSequences[
                batchStart..<min(auditSequences.count, batchStart + Self.exportAuditBatchSize)]
            let positions = try runtime.cell.read { (state) throws(RPCError) -> [EntryPosition] in
                var positions: [EntryPosition] = []
                positions.reserveCapacity(sequences.count)
                for sequence in sequences {
                    positions.append(
                        try LedgerRuntime.auditEntryPosition(sequence: sequence, in: state, after: positions.last))
                }
                return positions
            }
            var events: [Healthledger_V1_AuditEvent] = []
            events.reserveCapacity(positions.count)
            try runtime.blocks.forEachEntry(at: positions, through: &scan) { (_, entry) throws(RPCError) in
                events.append(try LedgerRuntime.auditEvent(in: entry))
            }
            for event in events {
                try await output.append(
                    bundle.entry(AuditEventMapping.auditEvent(for: event, chainID: runtime.chainID)))
            }
        }
        try await output.append(bundle.closing())
        try await output.finish()
    }

    /// The Bundle entry of one record: the resource itself when it was written as application/fhir+json and is a
    /// JSON object with a resourceType (byte for byte as written), else a DocumentReference describing it.
    private func exportEntry(of record: RecordEntry, in bundle: inout PatientExportBundle) throws -> [UInt8] {
        let wire = try Self.wire(record, ledgerEntry: try runtime.ledgerEntry(at: record.position))
        if !record.contentErased, record.sizeBytes <= UInt64(Self.largestEmbeddedResource),
            FHIRRecordContentCheck.isFHIRJSON(wire.metadata?.mediaType ?? "")
        {
            let content = try wholeContent(of: record)
            if PatientExportBundle.embeddableResourceType(content) != nil {
                return bundle.entry(resourceText: content)
            }
        }
        return bundle.entry(PatientExportBundle.documentReference(for: wire))
    }

    /// A record's whole content (at most `largestEmbeddedResource` bytes), checked against its hash; DATA_LOSS when
    /// the store cannot give it.
    private func wholeContent(of record: RecordEntry) throws(RPCError) -> [UInt8] {
        do throws(StorageError) {
            if record.sizeBytes <= UInt64(RecordContentStore.smallContentLimit) {
                return try runtime.contentStore.smallContent(patient: record.patient, sha256: record.contentSha256)
            }
            let reader = try runtime.contentStore.openContent(patient: record.patient, sha256: record.contentSha256)
            var content: [UInt8] = []
            content.reserveCapacity(Int(record.sizeBytes))
            while let piece = try reader.next() { content.append(contentsOf: piece) }
            return content
        } catch {
            throw Self.contentFailure(of: record, error, inCluster: runtime.cluster != nil)
        }
    }
}

/// Bundle text gathered into response messages of `chunkSize` bytes (the last one shorter), so that the transport
/// sees few large writes and memory holds at most one chunk plus one entry.
private struct BundleChunks {
    let responses: ResponseWriter<Healthledger_V1_ExportFhirBundleResponse>
    let chunkSize: Int
    var pending: [UInt8] = []

    init(responses: ResponseWriter<Healthledger_V1_ExportFhirBundleResponse>, chunkSize: Int) {
        self.responses = responses
        self.chunkSize = chunkSize
        pending.reserveCapacity(chunkSize)
    }

    mutating func append(_ bytes: [UInt8]) async throws {
        pending.append(contentsOf: bytes)
        guard pending.count >= chunkSize else { return }
        var start = 0
        while pending.count - start >= chunkSize {
            try await send(Array(pending[start..<start + chunkSize]))
            start += chunkSize
        }
        pending.removeFirst(start)
    }

    mutating func finish() async throws {
        if !pending.isEmpty { try await send(pending) }
        pending.removeAll()
    }

    private func send(_ chunk: [UInt8]) async throws {
        var message = Healthledger_V1_ExportFhirBundleResponse()
        message.part = .bundleChunk(chunk)
        try await responses.write(message)
    }
}
