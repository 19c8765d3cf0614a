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
    /// Content bytes a query gathers before handing its messages to the transport, bounding its memory.
    static let gatheredContentLimit = 1 << 20
    /// Messages a query gathers before handing them to the transport.
    static let gatheredMessageLimit = 256

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
        var wantedIDs = Set<TransactionDigest>()
        for (index, id) in request.recordIds.enumerated() {
            let checked = try InputValidation.objectID(id, field: "record_ids[\(index)]")
            guard let digest = TransactionDigest(hex: checked) else {
                throw InputValidation.invalid("record_ids[\(index)]", "not a record id")
            }
            guard wantedIDs.insert(digest).inserted else {
                throw InputValidation.invalid("record_ids", "\(id) is listed twice")
            }
        }
        let limit = request.maxRecords == 0 ? Self.defaultMaxRecords : min(Int(request.maxRecords), Self.largestMaxRecords)

        // Decide and choose the records against one committed state, one that holds every Revoke any node of a
        // cluster returned before this call began.
        try await runtime.awaitReadIndex()
        let now = runtime.now()
        let accessRequest = AccessRequest(
            caller: caller.text, patient: patient.text, action: .read, categories: asked.set,
            asksAllCategories: asked.namesAll, purpose: purpose, now: now)
        let (decision, released, missing) = runtime.cell.read { state -> (Decision, [RecordEntry], String?) in
            let decision = PolicyEngine.decide(accessRequest, policy: state.policies[patient.text])
            guard decision.isAllowed else { return (decision, [], nil) }
            var released: [RecordEntry] = []
            var found = Set<TransactionDigest>()
            for position in state.records.rows(of: patient.text) {
                let row = state.records.row(at: Int(position))
                if !wantedIDs.isEmpty && !wantedIDs.contains(row.id) { continue }
                guard decision.allowedCategories.contains(row.category),
                    decision.covers(category: row.category, effectiveAt: row.effectiveAt),
                    dates?.contains(row.effectiveAt) ?? true
                else { continue }
                found.insert(row.id)
                if released.count < limit { released.append(state.records.entry(at: Int(position))) }
            }
            let missing = wantedIDs.subtracting(found).map(\.hex).sorted().first
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
        var logged = Healthledger_V1_LoggedAuditEvent()
        logged.event = audit.event
        logged.ledgerEntry = audit.ledgerEntry
        logged.proof = try runtime.entryProof(entryIndex: audit.event.entryIndex, blockHeight: audit.event.blockHeight)
        started.auditEvent = logged
        started.recordCount = UInt32(released.count)
        started.totalContentBytes =
            includeContent ? released.reduce(0) { $0 + ($1.contentErased ? 0 : $1.sizeBytes) } : 0
        var opening = Healthledger_V1_QueryResponse()
        opening.part = .started(started)
        // Messages are gathered (up to `gatheredContentLimit` bytes of content or `gatheredMessageLimit` messages) and
        // handed to the transport back to back, so that one wakeup of the connection's loop sends several; small
        // contents are read whole for that (from the content store's memory when read before), a large one is
        // streamed segment by segment.
        var pending: [Healthledger_V1_QueryResponse] = []
        pending.reserveCapacity(1 + min(released.count, 64) * (includeContent ? 2 : 1))
        pending.append(opening)
        var pendingContentBytes = 0
        func flush() async throws {
            try await responses.write(contentsOf: pending)
            pending.removeAll(keepingCapacity: true)
            pendingContentBytes = 0
        }
        for record in released {
            var message = Healthledger_V1_QueryResponse()
            message.part = .record(try Self.wire(record, ledgerEntry: try runtime.ledgerEntry(at: record.position)))
            pending.append(message)
            if pending.count >= Self.gatheredMessageLimit { try await flush() }
            guard includeContent, !record.contentErased else { continue }
            guard record.sizeBytes <= UInt64(RecordContentStore.smallContentLimit) else {
                try await flush()
                try await streamContent(of: record, to: responses)
                continue
            }
            let content: [UInt8]
            do throws(StorageError) {
                content = try runtime.contentStore.smallContent(
                    patient: record.patient, sha256: record.contentSha256)
            } catch {
                // What was gathered goes out first, as it would have if each message were sent at once.
                try await flush()
                throw Self.contentFailure(of: record, error, inCluster: runtime.cluster != nil)
            }
            if content.isEmpty { continue }
            pending.append(Self.chunk(content, at: 0))
            pendingContentBytes += content.count
            if pendingContentBytes >= Self.gatheredContentLimit { try await flush() }
        }
        try await flush()
    }

    /// DATA_LOSS for a record whose stored content cannot be served. In a cluster, content stays on the node that
    /// received its Write (docs/REPLICATION.md): content this node never held is FAILED_PRECONDITION, not a loss.
    static func contentFailure(of record: RecordEntry, _ error: StorageError, inCluster: Bool = false) -> RPCError {
        if error.kind == .notFound {
            if inCluster {
                return RPCError(
                    .failedPrecondition,
                    "record \(record.id): its content is not on this node; in a cluster, content stays on the node that received its Write: query that node")
            }
            return RPCError(.dataLoss, "record \(record.id): its content is missing from this node (\(error.reason))")
        }
        return RPCError(.dataLoss, "record \(record.id): stored content does not match its hash (\(error.reason))")
    }

    /// A content chunk message.
    private static func chunk(_ data: [UInt8], at offset: UInt64) -> Healthledger_V1_QueryResponse {
        var chunk = Healthledger_V1_ContentChunk()
        chunk.data = data
        chunk.offsetBytes = offset
        var message = Healthledger_V1_QueryResponse()
        message.part = .chunk(chunk)
        return message
    }

    private func streamContent(
        of record: RecordEntry, to responses: ResponseWriter<Healthledger_V1_QueryResponse>
    ) async throws {
        let reader: ContentReader
        do {
            reader = try runtime.contentStore.openContent(
                patient: record.patient, sha256: record.contentSha256)
        } catch {
            throw Self.contentFailure(of: record, error, inCluster: runtime.cluster != nil)
        }
        var offset: UInt64 = 0
        while true {
            let piece: [UInt8]?
            do { piece = try reader.next() } catch {
                throw RPCError(.dataLoss, "record \(record.id): stored content does not match its hash (\(error.reason))")
            }
            guard let piece else { break }
            if piece.isEmpty { continue }
            try await responses.write(Self.chunk(piece, at: offset))
            offset += UInt64(piece.count)
        }
    }

    /// The wire form of a committed record, with its entry's bytes as read back from the block log (and the
    /// metadata in them).
    static func wire(_ record: RecordEntry, ledgerEntry: [UInt8]) throws(RPCError) -> Healthledger_V1_Record {
        guard let metadata = RecordEntry.metadata(inLedgerEntry: ledgerEntry) else {
            throw RPCError(.dataLoss, "record \(record.id): its entry in the block log holds no write")
        }
        var wire = Healthledger_V1_Record()
        wire.recordId = record.id
        wire.metadata = metadata
        wire.author = record.author.text
        wire.createdAtUnixMs = record.createdAt
        wire.contentErased = record.contentErased
        wire.location = record.position.wire
        wire.ledgerEntry = ledgerEntry
        return wire
    }
}
