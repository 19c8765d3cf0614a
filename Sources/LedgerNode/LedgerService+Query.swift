import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import RPCCore

extension LedgerService {
    /// Default and largest number of records one query returns.
    static let defaultMaxRecords = 1_000
    static let largestMaxRecords = 10_000

    public func query(
        request: Healthledger_V1_QueryRequest, responses: ResponseWriter<Healthledger_V1_QueryResponse>,
        context: ServerContext
    ) async throws {
        let caller = try runtime.authenticate(context)
        if !request.unknownFields.isEmpty { throw InputValidation.invalid("request", "unknown fields") }
        let patient = try InputValidation.principal(request.patient, field: "patient")
        let asked = try PolicyConversion.categories(request.categories, field: "categories")
        let purpose = try PolicyConversion.purpose(request.purpose, field: "purpose")
        let dates = try PolicyConversion.dateRange(request.recordDateRange, field: "record_date_range")
        if request.recordIds.count > 1_000 { throw InputValidation.invalid("record_ids", "at most 1,000 ids") }
        var wantedIDs = Set<String>()
        for (index, id) in request.recordIds.enumerated() {
            guard wantedIDs.insert(try InputValidation.objectID(id, field: "record_ids[\(index)]")).inserted else {
                throw InputValidation.invalid("record_ids", "\(id) is listed twice")
            }
        }
        let limit = request.maxRecords == 0 ? Self.defaultMaxRecords : min(Int(request.maxRecords), Self.largestMaxRecords)

        // Decide and choose the records against one committed state.
        let now = runtime.now()
        let accessRequest = AccessRequest(
            caller: caller.text, patient: patient.text, action: .read, categories: asked.set,
            asksAllCategories: asked.namesAll, purpose: purpose, now: now)
        let (decision, released, missing) = runtime.cell.read { state -> (Decision, [RecordEntry], String?) in
            let decision = PolicyEngine.decide(accessRequest, policy: state.policies[patient.text])
            guard decision.isAllowed else { return (decision, [], nil) }
            var released: [RecordEntry] = []
            var found = Set<String>()
            for id in state.recordsByPatient[patient.text] ?? [] {
                guard let record = state.records[id] else { continue }
                if !wantedIDs.isEmpty && !wantedIDs.contains(id) { continue }
                guard decision.allowedCategories.contains(record.category),
                    decision.covers(category: record.category, effectiveAt: record.metadata.effectiveAtUnixMs),
                    dates?.contains(record.metadata.effectiveAtUnixMs) ?? true
                else { continue }
                found.insert(id)
                if released.count < limit { released.append(record) }
            }
            let missing = wantedIDs.subtracting(found).sorted().first
            return (decision, missing == nil ? released : [], missing)
        }

        // Log before release: the decision is durable before anything leaves the node.
        let event: Healthledger_V1_AuditEvent
        if let missing {
            event = AuditEvents.queryRefused(
                caller: caller.text, patient: patient.text, asked: asked.set, purpose: purpose,
                reason: "record \(missing) is not among the records the caller may read", now: now)
        } else {
            event = AuditEvents.query(
                caller: caller.text, patient: patient.text, asked: asked.set, purpose: purpose, decision: decision,
                released: released, now: now)
        }
        let audit = try await runtime.commitAudit(event)
        if let missing {
            throw RPCError(.notFound, "record_ids: \(missing) is not among the records you may read in these categories")
        }
        guard decision.isAllowed else { throw RPCError(.permissionDenied, decision.reason) }

        let includeContent = request.includeContent
        var started = Healthledger_V1_QueryStarted()
        started.auditSequence = audit.event.sequence
        started.recordCount = UInt32(released.count)
        started.totalContentBytes =
            includeContent ? released.reduce(0) { $0 + ($1.contentErased ? 0 : $1.metadata.sizeBytes) } : 0
        var opening = Healthledger_V1_QueryResponse()
        opening.part = .started(started)
        try await responses.write(opening)
        for record in released {
            var message = Healthledger_V1_QueryResponse()
            message.part = .record(Self.wire(record))
            try await responses.write(message)
            guard includeContent, !record.contentErased else { continue }
            try await streamContent(of: record, to: responses)
        }
    }

    private func streamContent(
        of record: RecordEntry, to responses: ResponseWriter<Healthledger_V1_QueryResponse>
    ) async throws {
        let reader: ContentReader
        do {
            reader = try runtime.contentStore.openContent(
                patient: record.metadata.patient, sha256: record.metadata.contentSha256)
        } catch {
            throw RPCError(.dataLoss, "record \(record.id): its content is missing from this node (\(error.reason))")
        }
        var offset: UInt64 = 0
        while true {
            let piece: [UInt8]?
            do { piece = try reader.next() } catch {
                throw RPCError(.dataLoss, "record \(record.id): stored content does not match its hash (\(error.reason))")
            }
            guard let piece else { break }
            if piece.isEmpty { continue }
            var chunk = Healthledger_V1_ContentChunk()
            chunk.data = piece
            chunk.offsetBytes = offset
            offset += UInt64(piece.count)
            var message = Healthledger_V1_QueryResponse()
            message.part = .chunk(chunk)
            try await responses.write(message)
        }
    }

    /// The wire form of a committed record.
    static func wire(_ record: RecordEntry) -> Healthledger_V1_Record {
        var wire = Healthledger_V1_Record()
        wire.recordId = record.id
        wire.metadata = record.metadata
        wire.author = record.author.text
        wire.createdAtUnixMs = record.createdAt
        wire.contentErased = record.contentErased
        wire.location = record.position.wire
        wire.ledgerEntry = record.ledgerEntry
        return wire
    }
}
