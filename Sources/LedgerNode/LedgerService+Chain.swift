import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import MerkleLog
import RPCCore

extension LedgerService {
    // MARK: Grants and principals

    public func listGrants(
        request: Healthledger_V1_ListGrantsRequest, context: ServerContext
    ) async throws -> Healthledger_V1_ListGrantsResponse {
        let caller = try runtime.authenticate(context).text
        try await runtime.awaitReadIndex()
        let patient = request.patient.isEmpty ? nil : try InputValidation.principal(request.patient, field: "patient").text
        var grantee: String?
        if request.grantee == "*" {
            grantee = "*"
        } else if !request.grantee.isEmpty {
            grantee = try InputValidation.principal(request.grantee, field: "grantee").text
        }
        if request.pageSize < 0 { throw InputValidation.invalid("page_size", "must not be negative") }
        let pageSize = request.pageSize == 0 ? 100 : min(Int(request.pageSize), 1_000)
        var start = 0
        if !request.pageToken.isEmpty {
            guard request.pageToken.hasPrefix("g"), let index = Int(request.pageToken.dropFirst()), index >= 0 else {
                throw InputValidation.invalid("page_token", "not a token this node issued")
            }
            start = index
        }
        let now = runtime.now()
        let includeInactive = request.includeInactive
        // Choose the page against one committed state; the signed grants are then read back from the block log
        // outside the lock (the state keeps only where they are).
        typealias Page = (
            grants: [(GrantDetail, Healthledger_V1_GrantState)], nextPageToken: String?,
            auditorReads: [String: Decision]
        )
        let (page, nextPageToken, auditorReads) = runtime.cell.read { state -> Page in
            let grants = state.grants
            var page: [(GrantDetail, Healthledger_V1_GrantState)] = []
            // Patients whose grants the caller sees only as an AUDIT_READ holder, with the deciding decision.
            var auditorReads: [String: Decision] = [:]
            var index = start
            while index < grants.count && page.count < pageSize {
                defer { index += 1 }
                let grantPatient = grants.patient(at: index)
                if let patient, grantPatient != patient { continue }
                if let grantee, grants.grantee(at: index) != grantee { continue }
                var auditRead: Decision?
                if grantPatient != caller && grants.grantee(at: index) != caller && grants.author(at: index) != caller {
                    auditRead = Self.auditReadDecision(
                        caller: caller, patient: grantPatient, policy: state.policies[grantPatient], now: now)
                    if auditRead == nil { continue }
                }
                let detail = grants.detail(at: index)
                let rule = state.policies[grantPatient]?.grant(id: detail.id)
                let grantState = Self.state(of: detail, rule: rule, now: now)
                if !includeInactive && grantState != .active { continue }
                page.append((detail, grantState))
                if let auditRead, auditorReads[grantPatient] == nil { auditorReads[grantPatient] = auditRead }
            }
            return (page, index < grants.count ? "g\(index)" : nil, auditorReads)
        }
        // What an auditor sees of a patient's policy is logged in the patient's trail before it is sent.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (grantPatient, decision) in auditorReads {
                let event = AuditEvents.grantsListed(caller: caller, patient: grantPatient, decision: decision, now: now)
                group.addTask { _ = try await self.runtime.commitAudit(event) }
            }
            try await group.waitForAll()
        }
        var response = Healthledger_V1_ListGrantsResponse()
        for (detail, grantState) in page {
            let ledgerEntry = try runtime.ledgerEntry(at: detail.position)
            response.grants.append(try Self.wire(detail, state: grantState, ledgerEntry: ledgerEntry))
        }
        if let nextPageToken { response.nextPageToken = nextPageToken }
        return response
    }

    public func getPrincipal(
        request: Healthledger_V1_GetPrincipalRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GetPrincipalResponse {
        let caller = try runtime.authenticate(context)
        let id = try InputValidation.principal(request.principalId, field: "principal_id")
        // The next sequence number a client signs with must include what it committed through another node.
        try await runtime.awaitReadIndex()
        let principal = runtime.cell.read { state -> Healthledger_V1_Principal? in
            guard let principal = state.principals[id] else { return nil }
            var wire = Healthledger_V1_Principal()
            wire.principalId = id.text
            wire.currentKeyId = principal.currentKeyID
            wire.keys = principal.keyIDs.suffix(1_000).compactMap { keyID in
                guard let key = state.keys[keyID] else { return nil }
                var record = Healthledger_V1_KeyRecord()
                record.keyId = keyID
                record.publicKey = TransactionValidator.wire(key.key)
                record.addedAtHeight = key.addedAtHeight
                record.retiredAtHeight = key.retiredAtHeight
                return record
            }
            if caller == id { wire.nextSequence = principal.nextSequence }
            return wire
        }
        guard let principal else { throw RPCError(.notFound, "principal_id: the ledger has no transaction by \(id)") }
        var response = Healthledger_V1_GetPrincipalResponse()
        response.principal = principal
        return response
    }

    static func state(of detail: GrantDetail, rule: GrantRule?, now: Int64) -> Healthledger_V1_GrantState {
        if detail.revokedAt != nil { return .revoked }
        guard let rule else { return .unspecified }
        if now < rule.activeFrom { return .pending }
        if let until = rule.activeUntil, now >= until { return .expired }
        return .active
    }

    /// The wire form of a grant, its signed fields decoded from `ledgerEntry` (its bytes in the block log).
    static func wire(_ detail: GrantDetail, state: Healthledger_V1_GrantState, ledgerEntry: [UInt8]) throws(RPCError)
        -> Healthledger_V1_GrantRecord
    {
        guard let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: ledgerEntry),
            case .transaction(let signed)? = entry.entry,
            let body = try? Healthledger_V1_TransactionBody(serializedBytes: signed.body),
            case .grant(let grant)? = body.operation
        else { throw RPCError(.internalError, "grant \(detail.id): its ledger entry is not a Grant transaction") }
        var wire = Healthledger_V1_GrantRecord()
        wire.grantId = detail.id
        wire.grant = grant
        wire.author = detail.author.text
        wire.createdAtUnixMs = detail.createdAt
        wire.state = state
        wire.revokeTransactionId = detail.revokeTransactionID
        wire.revokedAtUnixMs = detail.revokedAt
        wire.location = detail.position.wire
        wire.ledgerEntry = ledgerEntry
        return wire
    }

    // MARK: The public chain

    public func getChainHead(
        request: Healthledger_V1_GetChainHeadRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GetChainHeadResponse {
        try runtime.rateLimiter.charge(peer: context.peer)
        var response = Healthledger_V1_GetChainHeadResponse()
        response.chainId = runtime.chainID
        // A cluster's blocks are signed by whichever node led when each was made: every registered key is reported.
        let keys = runtime.cluster.map { $0.nodeKeys.current.values.sorted { $0.keyID < $1.keyID } } ?? [runtime.nodeKey]
        response.nodeKeys = keys.map(Healthledger_V1_NodeKey.init(signingKey:))
        response.serverTimeUnixMs = runtime.now()
        runtime.cell.read { state in
            if let last = state.blocks.last {
                response.head = last.signedHeader
                response.checkpoint = last.checkpoint
            }
            response.height = state.height
            response.treeSize = state.treeSize
        }
        return response
    }

    public func getBlocks(
        request: Healthledger_V1_GetBlocksRequest, responses: ResponseWriter<Healthledger_V1_GetBlocksResponse>,
        context: ServerContext
    ) async throws {
        // Once per call, following or not.
        try runtime.rateLimiter.charge(peer: context.peer)
        if request.startHeight == 0 { throw InputValidation.invalid("start_height", "must be at least 1") }
        if let end = request.endHeight, end <= request.startHeight {
            throw InputValidation.invalid("end_height", "must be greater than start_height")
        }
        let following = request.follow && request.endHeight == nil
        let height = runtime.cell.read { $0.height }
        if request.startHeight > height + 1 || (!following && request.startHeight > height) {
            throw RPCError(.notFound, "start_height: no block \(request.startHeight) yet (the chain is at \(height))")
        }
        let follower = following ? runtime.feed.followBlocks() : nil
        defer { follower?.cancel() }
        var next = request.startHeight
        func sendAvailable() async throws -> Bool {
            while true {
                let available = runtime.cell.read { state -> ClosedRange<UInt64>? in
                    let end = min(state.height, (request.endHeight ?? UInt64.max) - 1)
                    guard next <= end else { return nil }
                    return next...min(end, next + 255)
                }
                guard let available else { return request.endHeight.map { next >= $0 } ?? false }
                // Headers alone, so a block the cache does not hold is read only as far as its header.
                let batch = try available.map { height throws(RPCError) in
                    try runtime.blocks.signedHeader(height: height)
                }
                next += UInt64(batch.count)
                try await responses.write(
                    contentsOf: batch.map { header in
                        var message = Healthledger_V1_GetBlocksResponse()
                        message.block = header
                        return message
                    })
            }
        }
        _ = try await sendAvailable()
        guard let follower else { return }
        for await _ in follower.wakeups {
            if Task.isCancelled { break }
            _ = try await sendAvailable()
        }
        if runtime.feed.isClosed {
            throw RPCError(.unavailable, "the node is shutting down; reconnect from height \(next)")
        }
    }

    public func getCheckpoint(
        request: Healthledger_V1_GetCheckpointRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GetCheckpointResponse {
        try runtime.rateLimiter.charge(peer: context.peer)
        let source = try runtime.cell.read { (state) throws(RPCError) in
            try checkpoint(treeSize: request.treeSize, field: "tree_size", in: state).source
        }
        var response = Healthledger_V1_GetCheckpointResponse()
        response.checkpoint = try runtime.checkpoint(source)
        return response
    }

    public func getInclusionProof(
        request: Healthledger_V1_GetInclusionProofRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GetInclusionProofResponse {
        try runtime.rateLimiter.charge(peer: context.peer)
        let (proof, source) = try runtime.cell.read {
            (state) throws(RPCError) -> (Healthledger_V1_InclusionProof, CheckpointSource) in
            let (source, treeSize) = try checkpoint(treeSize: request.treeSize, field: "tree_size", in: state)
            guard request.leafIndex < treeSize else {
                throw InputValidation.invalid("leaf_index", "\(request.leafIndex) is not below tree size \(treeSize)")
            }
            var proof = Healthledger_V1_InclusionProof()
            proof.leafIndex = request.leafIndex
            proof.treeSize = treeSize
            do {
                proof.auditPath = try state.tree.inclusionProof(leafIndex: request.leafIndex, treeSize: treeSize)
            } catch {
                throw RPCError(.internalError, "inclusion proof: \(error)")
            }
            return (proof, source)
        }
        var response = Healthledger_V1_GetInclusionProofResponse()
        response.proof = proof
        response.checkpoint = try runtime.checkpoint(source)
        return response
    }

    public func getConsistencyProof(
        request: Healthledger_V1_GetConsistencyProofRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GetConsistencyProofResponse {
        try runtime.rateLimiter.charge(peer: context.peer)
        if request.firstTreeSize == 0 { throw InputValidation.invalid("first_tree_size", "must be at least 1") }
        let (proof, firstSource, secondSource) = try runtime.cell.read {
            (state) throws(RPCError) -> (Healthledger_V1_ConsistencyProof, CheckpointSource, CheckpointSource) in
            let first = try checkpoint(treeSize: request.firstTreeSize, field: "first_tree_size", in: state)
            let second = try checkpoint(treeSize: request.secondTreeSize, field: "second_tree_size", in: state)
            let secondSize = second.treeSize
            guard request.firstTreeSize <= secondSize else {
                throw InputValidation.invalid("second_tree_size", "must be at least first_tree_size")
            }
            var proof = Healthledger_V1_ConsistencyProof()
            proof.firstTreeSize = request.firstTreeSize
            proof.secondTreeSize = secondSize
            do {
                proof.consistencyPath = try state.tree.consistencyProof(
                    firstSize: request.firstTreeSize, secondSize: secondSize)
            } catch {
                throw RPCError(.internalError, "consistency proof: \(error)")
            }
            return (proof, first.source, second.source)
        }
        var response = Healthledger_V1_GetConsistencyProofResponse()
        response.proof = proof
        response.firstCheckpoint = try runtime.checkpoint(firstSource)
        response.secondCheckpoint = try runtime.checkpoint(secondSource)
        return response
    }

    /// Where the signed checkpoint of the block ending at `treeSize` (latest when nil) is, and that tree size: the
    /// head's in the state, an earlier one in the block log (read with `LedgerRuntime.checkpoint(_:)` after the lock).
    func checkpoint(treeSize: UInt64?, field: String, in state: borrowing LedgerState) throws(RPCError)
        -> (source: CheckpointSource, treeSize: UInt64)
    {
        guard let head = state.blocks.last else { throw RPCError(.notFound, "the chain has no block yet") }
        guard let treeSize else { return (.head(head.checkpoint), state.treeSize) }
        guard treeSize <= state.treeSize else {
            throw RPCError(.notFound, "\(field): no checkpoint for tree size \(treeSize) yet")
        }
        guard let position = state.blocks.position(endingAt: treeSize) else {
            throw RPCError(.notFound, "\(field): \(treeSize) is not the log size at the end of a block")
        }
        return (LedgerRuntime.checkpointSource(ofBlockAt: position, in: state), treeSize)
    }
}
