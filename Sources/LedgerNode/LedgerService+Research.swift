import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import RPCCore

extension LedgerService {
    /// Audit sequence numbers looked at per read-lock hold while the research feed replays: every event of the node
    /// is looked at (most skipped), so the committer never waits long.
    static let researchBatchSize = 1_024

    public func researchFeed(
        request: Healthledger_V1_ResearchFeedRequest, responses: ResponseWriter<Healthledger_V1_ResearchFeedResponse>,
        context: ServerContext
    ) async throws {
        let callerSession = try runtime.authenticatedSession(context)
        try await runtime.awaitReadIndex()
        let caller = callerSession.principal
        if !request.unknownFields.isEmpty { throw InputValidation.invalid("request", "unknown fields") }
        guard runtime.configuration.researchers.contains(caller.text) else {
            throw RPCError(
                .permissionDenied, "the research feed is open only to principals the operator registered as researchers"
            )
        }

        var next = try Self.replayStart(requested: request.startSequence, head: runtime.cell.read { $0.auditSequence })
        // Follow before replaying, so no event committed in between is missed; any block may hold events of any
        // opted-in patient (or a revoked opt-in), so every block wakes the stream.
        let follower = request.follow ? runtime.feed.followBlocks() : nil
        defer { follower?.cancel() }

        var session = ResearchFeedSession(researcher: caller.text, secret: runtime.researchSecret)
        let replayHead = try await sendResearch(
            from: &next, session: &session, callerSession: callerSession, to: responses)
        var completed = Healthledger_V1_AuditReplayCompleted()
        completed.headSequence = replayHead
        var message = Healthledger_V1_ResearchFeedResponse()
        message.item = .replayCompleted(completed)
        try await responses.write(message)

        guard let follower else { return }
        for await _ in follower.wakeups {
            if Task.isCancelled { break }
            // The session (expiry, deletion, key rotation) is checked again for every delivery, and each patient's
            // opt-in for every event, so a revoke stops the flow at once.
            try reauthenticate(context, resumingAt: next)
            _ = try await sendResearch(from: &next, session: &session, callerSession: callerSession, to: responses)
        }
        if runtime.feed.isClosed {
            throw RPCError(.unavailable, "the node is shutting down; reconnect from sequence \(next)")
        }
    }

    /// Sends the committed events of opted-in patients from sequence `next` on, in batches; returns the node's audit
    /// head at the last read and leaves `next` after the last event looked at. Before a patient's first event in this
    /// stream, logs the researcher's read in that patient's trail. UNAUTHENTICATED once a read finds the key of
    /// `callerSession` retired.
    private func sendResearch(
        from next: inout UInt64, session: inout ResearchFeedSession, callerSession: SessionStore.Session,
        to responses: ResponseWriter<Healthledger_V1_ResearchFeedResponse>
    ) async throws -> UInt64 {
        let researcher = session.researcher
        // One buffer for the blocks the cache does not hold, reused from block to block.
        var scan = BlockReader.Scan()
        while true {
            let start = next
            let now = runtime.now()
            // The batch's events are read back outside the read lock; the opt-ins are then decided under it (once
            // per patient per batch) and the shown fields copied; the pseudonyms (two HMACs each) are computed after.
            typealias Picked = (event: Healthledger_V1_ResearchEvent, actor: String, patient: String, optIn: Decision)
            let (positions, head) = try runtime.cell.read { (state) throws(RPCError) -> ([EntryPosition], UInt64) in
                // In the state the events come from, so none committed after a rotation of the caller's key is sent.
                do throws(RPCError) {
                    try LedgerRuntime.requireCurrentKey(of: callerSession, in: state)
                } catch {
                    throw Self.sessionEnded(error, resumingAt: start)
                }
                let head = state.auditSequence
                guard start <= head else { return ([], head) }
                let end = min(head, start + UInt64(Self.researchBatchSize) - 1)
                var positions: [EntryPosition] = []
                positions.reserveCapacity(Int(end - start) + 1)
                for sequence in start...end {
                    positions.append(
                        try LedgerRuntime.auditEntryPosition(sequence: sequence, in: state, after: positions.last))
                }
                return (positions, head)
            }
            var events: [Healthledger_V1_AuditEvent] = []
            events.reserveCapacity(positions.count)
            try runtime.blocks.forEachEntry(at: positions, through: &scan) { (_, entry) throws(RPCError) in
                events.append(try LedgerRuntime.auditEvent(in: entry))
            }
            let picked = runtime.cell.read { state -> [Picked] in
                var optIns: [String: Decision?] = [:]
                var picked: [Picked] = []
                for event in events {
                    let optIn: Decision?
                    if let decided = optIns[event.patient] {
                        optIn = decided
                    } else {
                        optIn = ResearchEvents.optIn(
                            researcher: researcher, patient: event.patient, policy: state.policies[event.patient],
                            now: now)
                        optIns[event.patient] = optIn
                    }
                    guard let optIn else { continue }
                    picked.append((ResearchEvents.withoutIdentities(event), event.actor, event.patient, optIn))
                }
                return picked
            }
            guard start <= head else { return head }
            next = min(head, start + UInt64(Self.researchBatchSize) - 1) + 1

            // Log before release: the research read of each patient new to this stream, all in one block.
            var firstReads: [String: Decision] = [:]
            for item in picked where !session.loggedPatients.contains(item.patient) && firstReads[item.patient] == nil {
                firstReads[item.patient] = item.optIn
            }
            if !firstReads.isEmpty {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (patient, decision) in firstReads {
                        let event = AuditEvents.researchRead(
                            caller: researcher, patient: patient, decision: decision, now: now)
                        group.addTask { _ = try await self.runtime.commitAudit(event) }
                    }
                    try await group.waitForAll()
                }
                session.loggedPatients.formUnion(firstReads.keys)
            }

            var messages: [Healthledger_V1_ResearchFeedResponse] = []
            messages.reserveCapacity(picked.count)
            for item in picked {
                var event = item.event
                event.actorPseudonym = session.pseudonym(of: item.actor)
                event.patientPseudonym = session.pseudonym(of: item.patient)
                var message = Healthledger_V1_ResearchFeedResponse()
                message.item = .event(event)
                messages.append(message)
            }
            if !messages.isEmpty { try await responses.write(contentsOf: messages) }
        }
    }
}
