import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import RPCCore

extension LedgerService {
    /// Audit events read from the state per lock hold while replaying; fewer with proofs, which are made under
    /// the lock (about 10 µs each), so the committer never waits long.
    static let auditBatchSize = 1_024
    static let provenAuditBatchSize = 128

    public func auditStream(
        request: Healthledger_V1_AuditStreamRequest, responses: ResponseWriter<Healthledger_V1_AuditStreamResponse>,
        context: ServerContext
    ) async throws {
        // Served over gRPC by `auditStreamEncoded` (see `serviceDefinition`); this typed form decodes what it sends.
        let encoded = ResponseWriter<[UInt8]> { bytes in
            try await responses.write(try Healthledger_V1_AuditStreamResponse(serializedBytes: bytes))
        }
        try await auditStreamEncoded(request: request, responses: encoded, context: context)
    }

    /// AuditStream writing encoded `AuditStreamResponse` messages, each event's taken from its stored ledger entry.
    func auditStreamEncoded(
        request: Healthledger_V1_AuditStreamRequest, responses: ResponseWriter<[UInt8]>, context: ServerContext
    ) async throws {
        let session = try runtime.authenticatedSession(context)
        try await runtime.awaitReadIndex()
        let caller = session.principal
        if !request.unknownFields.isEmpty { throw InputValidation.invalid("request", "unknown fields") }
        let patient = try InputValidation.principal(request.patient, field: "patient")
        let now = runtime.now()

        // Who may read what: the patient everything, an active AUDIT_READ holder everything, anyone else only
        // the events of their own actions on this patient.
        var ownActionsOnly = false
        if caller != patient {
            let decision = runtime.cell.read { state in
                Self.auditReadDecision(caller: caller.text, patient: patient.text, policy: state.policies[patient.text], now: now)
            }
            if let decision {
                _ = try await runtime.commitAudit(
                    AuditEvents.auditRead(caller: caller.text, patient: patient.text, decision: decision, now: now))
            } else {
                ownActionsOnly = true
            }
        }

        var next = try Self.replayStart(requested: request.startSequence, head: runtime.cell.read { $0.auditSequence })
        // Follow before replaying, so no event committed in between is missed; sequence numbers drop repeats.
        let follower = request.follow ? runtime.feed.followAudit(of: patient.text) : nil
        defer { follower?.cancel() }

        let requestedActor =
            request.actor.isEmpty ? nil : try InputValidation.principal(request.actor, field: "actor").text
        switch request.outcome {
        case .unspecified, .allowed, .denied: break
        default: throw InputValidation.invalid("outcome", "must be OUTCOME_ALLOWED, OUTCOME_DENIED or unset")
        }
        if let from = request.fromUnixMs, let until = request.untilUnixMs, until <= from {
            throw InputValidation.invalid("until_unix_ms", "must be greater than from_unix_ms")
        }
        var filter = AuditFilter(
            emergencyOnly: request.emergencyOnly, actor: ownActionsOnly ? caller.text : nil,
            requestedActor: requestedActor, outcome: request.outcome == .unspecified ? nil : request.outcome,
            from: request.fromUnixMs, until: request.untilUnixMs)
        let replayHead = try await sendAudit(
            of: patient.text, from: &next, filter: filter, includeProofs: request.includeProofs, session: session,
            to: responses)
        try await responses.write(AuditStreamMessages.replayCompleted(headSequence: replayHead))

        guard let follower else { return }
        for await _ in follower.wakeups {
            if Task.isCancelled { break }
            // The session (expiry, deletion, key rotation) and the AUDIT_READ grant are checked again for every
            // delivery: a revoked grant or a retired key stops the flow of events at once.
            try reauthenticate(context, resumingAt: next)
            if caller != patient && filter.actor == nil {
                let now = runtime.now()
                let stillAllowed = runtime.cell.read { state in
                    Self.auditReadDecision(
                        caller: caller.text, patient: patient.text, policy: state.policies[patient.text], now: now)
                        != nil
                }
                if !stillAllowed { filter.actor = caller.text }
            }
            _ = try await sendAudit(
                of: patient.text, from: &next, filter: filter, includeProofs: request.includeProofs, session: session,
                to: responses)
        }
        if runtime.feed.isClosed {
            throw RPCError(.unavailable, "the node is shutting down; reconnect from sequence \(next)")
        }
    }

    /// Sends the patient's committed events from sequence `next` on, in batches, each with its `EntryProof` when
    /// `includeProofs`; returns the node's audit head at the last read and leaves `next` after the last event
    /// looked at. UNAUTHENTICATED once a read finds `session`'s key retired.
    private func sendAudit(
        of patient: String, from next: inout UInt64, filter: AuditFilter, includeProofs: Bool,
        session: SessionStore.Session, to responses: ResponseWriter<[UInt8]>
    ) async throws -> UInt64 {
        let admitsAll = filter.admitsAll
        let batchSize = includeProofs ? Self.provenAuditBatchSize : Self.auditBatchSize
        // One buffer for the blocks the cache does not hold, reused from block to block; a live delivery mostly finds
        // its blocks in the cache and allocates none.
        var scan = BlockReader.Scan()
        while true {
            let start = next
            // Under the read lock only the events' places are looked up and their proofs made; the entries are read
            // back (from the block reader's cache, or older ones from the block log), filtered and encoded after.
            typealias Batch = (
                positions: [EntryPosition], proofs: [Healthledger_V1_EntryProof?], head: UInt64, resume: UInt64
            )
            let (positions, proofs, head, resume) = try runtime.cell.read { (state) throws(RPCError) -> Batch in
                // In the state the events come from, so none committed after a rotation of the session's key is sent.
                do throws(RPCError) {
                    try LedgerRuntime.requireCurrentKey(of: session, in: state)
                } catch {
                    throw Self.sessionEnded(error, resumingAt: start)
                }
                let sequences = state.auditByPatient[patient] ?? []
                var low = 0
                var high = sequences.count
                while low < high {
                    let middle = (low + high) / 2
                    if sequences[middle] < start { low = middle + 1 } else { high = middle }
                }
                let end = min(sequences.count, low + batchSize)
                var positions: [EntryPosition] = []
                var proofs: [Healthledger_V1_EntryProof?] = []
                positions.reserveCapacity(end - low)
                proofs.reserveCapacity(end - low)
                for index in low..<end {
                    let position = try LedgerRuntime.auditEntryPosition(
                        sequence: sequences[index], in: state, after: positions.last)
                    positions.append(position)
                    proofs.append(
                        includeProofs
                            ? try LedgerRuntime.latestEntryProof(entryIndex: position.entryIndex, in: state) : nil)
                }
                let resume = end > low ? sequences[end - 1] + 1 : start
                return (positions, proofs, state.auditSequence, resume)
            }
            next = resume
            if resume == start { return head }
            var messages: [[UInt8]] = []
            messages.reserveCapacity(positions.count)
            try runtime.blocks.forEachEntry(at: positions, through: &scan) { (offset, entry) throws(RPCError) in
                if !admitsAll, !filter.admits(try LedgerRuntime.auditEvent(in: entry)) { return }
                let proof = proofs[offset]
                if let message = AuditStreamMessages.event(ledgerEntry: entry, proof: proof?.serializedBytes()) {
                    messages.append(message)
                } else {
                    messages.append(try Self.decodedEventMessage(entry, proof: proof))
                }
            }
            try await responses.write(contentsOf: messages)
        }
    }

    /// The event message of a ledger entry `AuditStreamMessages.event(ledgerEntry:)` did not take, through a full
    /// decode; INTERNAL if the stored entry holds no audit event.
    private static func decodedEventMessage(
        _ ledgerEntry: UnsafeRawBufferPointer, proof: Healthledger_V1_EntryProof?
    ) throws(RPCError) -> [UInt8] {
        var logged = Healthledger_V1_LoggedAuditEvent()
        logged.event = try LedgerRuntime.auditEvent(in: ledgerEntry)
        logged.ledgerEntry = Array(ledgerEntry)
        if let proof { logged.proof = proof }
        return AuditStreamMessages.event(logged)
    }

    /// The caller's session checked again before a live delivery of a following stream (expiry, deletion, key
    /// rotation); UNAUTHENTICATED naming the sequence to resume from once it ended.
    func reauthenticate(_ context: ServerContext, resumingAt next: UInt64) throws(RPCError) {
        do {
            _ = try runtime.liveSession(context)
        } catch {
            throw Self.sessionEnded(error, resumingAt: next)
        }
    }

    /// The UNAUTHENTICATED that ends a following stream whose session ended, naming the sequence to resume from.
    static func sessionEnded(_ error: RPCError, resumingAt next: UInt64) -> RPCError {
        RPCError(.unauthenticated, "\(error.message); reconnect from sequence \(next) with a new session")
    }

    /// The first audit sequence a replay sends: `requested` when it is 1 to the node's latest sequence plus 1; for 0,
    /// the one after the latest (only events committed from now on). INVALID_ARGUMENT beyond.
    static func replayStart(requested: UInt64, head: UInt64) throws(RPCError) -> UInt64 {
        if requested == 0 { return head + 1 }
        guard requested <= head + 1 else {
            throw InputValidation.invalid(
                "start_sequence", "\(requested) is beyond the latest sequence plus 1 (\(head + 1))")
        }
        return requested
    }

    /// The decision that lets `caller` read all of the patient's audit trail, or nil. An AUDIT_READ grant for
    /// PURPOSE_RESEARCH alone opts the patient in to the pseudonymised research feed, not to this identified stream.
    static func auditReadDecision(caller: String, patient: String, policy: PatientPolicy?, now: Int64) -> Decision? {
        for purpose in Purpose.allCases where purpose != .research {
            let request = AccessRequest(
                caller: caller, patient: patient, action: .auditRead, categories: .every, asksAllCategories: true,
                purpose: purpose, now: now)
            let decision = PolicyEngine.decide(request, policy: policy)
            if decision.isAllowed { return decision }
        }
        return nil
    }
}

/// Which of a patient's audit events a stream sends.
struct AuditFilter: Sendable {
    var emergencyOnly: Bool
    /// Only events of this actor (a caller who is neither the patient nor an AUDIT_READ holder): a limit of
    /// what the caller may see, not a choice.
    var actor: String?
    /// Only events of this actor, as the caller asked.
    var requestedActor: String?
    var outcome: Healthledger_V1_Outcome?
    var from: Int64?
    var until: Int64?

    /// Whether every event passes, so a replay need not look at the events at all.
    var admitsAll: Bool {
        !emergencyOnly && actor == nil && requestedActor == nil && outcome == nil && from == nil && until == nil
    }

    func admits(_ event: Healthledger_V1_AuditEvent) -> Bool {
        if emergencyOnly && !event.emergency { return false }
        if let actor, event.actor != actor { return false }
        if let requestedActor, event.actor != requestedActor { return false }
        if let outcome, event.outcome != outcome { return false }
        if let from, event.timeUnixMs < from { return false }
        if let until, event.timeUnixMs >= until { return false }
        return true
    }
}
