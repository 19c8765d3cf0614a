import Glibc
import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire
import RPCCore
import Synchronization

/// A HealthLedger client acting as one principal: it learns the chain id, keeps a session for private reads,
/// numbers and signs the principal's transactions, and resubmits a transaction whose outcome is unknown
/// (UNAVAILABLE) with the very same bytes, which the replay guard makes safe. Reads it makes are asked again after
/// UNAVAILABLE too, and a session the node does not know (another node of a cluster, or a restarted one) is made
/// again once, so through a `FailoverClientTransport` a node's death costs its callers no error. Unless told
/// otherwise it verifies what the node answers against the history it saw before (see `HistoryVerification`): a node
/// that rewrites or forks its log makes calls throw `HistoryVerificationError`.
public actor LedgerClient<Transport: ClientTransport> {
    /// The generated stubs, for calls this layer does not wrap.
    public nonisolated let stub: Healthledger_V1_LedgerClient<Transport>
    /// Who this client acts as.
    public private(set) var identity: LedgerIdentity

    private var chainID: String?
    private var nextSequence: UInt64?
    private var hasKeyOnLedger = false
    private var session: (token: String, expiresAt: Int64)?
    /// How answers are checked.
    public nonisolated let verification: HistoryVerification
    /// What the client knows of the chain's history; nil before the first call or with verification off.
    public internal(set) var witness: CheckpointWitness?
    /// How calls that failed with UNAVAILABLE are repeated.
    public nonisolated let retry: RetrySchedule

    /// A client calling through `transport` as `identity`, checking answers as `verification` says (by default:
    /// every proof, node keys pinned on first use, nothing kept between runs) and repeating calls that fail with
    /// UNAVAILABLE as `retry` says.
    public init(
        transport: Transport, identity: LedgerIdentity, verification: HistoryVerification = .enabled(),
        retry: RetrySchedule = .standard
    ) {
        stub = Healthledger_V1_LedgerClient(transport: transport)
        self.identity = identity
        self.verification = verification
        self.retry = retry
    }

    /// Milliseconds since the Unix epoch.
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// The chain id, fetched once from GetChainHead (whose checkpoint is then checked against the history seen before).
    public func chain() async throws -> String {
        if let chainID { return chainID }
        let head = try await chainHead()
        chainID = head.chainId
        if verification.isEnabled { try await witnessHead(head) }
        return head.chainId
    }

    /// Fetches the node's chain head and checks its checkpoint against the history seen before (a no-op with
    /// verification off): how a client reconnecting to a node finds out at once that it serves another history.
    /// Returns the head it checked (nil with verification off).
    @discardableResult
    public func checkChainHead() async throws -> Healthledger_V1_GetChainHeadResponse? {
        guard verification.isEnabled else { return nil }
        let head = try await chainHead()
        if let chainID, chainID != head.chainId {
            throw HistoryVerificationError(
                .wrongChain, "the node now serves chain \(head.chainId), not chain \(chainID)")
        }
        chainID = head.chainId
        try await witnessHead(head)
        return head
    }

    /// The node's GetChainHead, asked again while it is UNAVAILABLE.
    private func chainHead() async throws -> Healthledger_V1_GetChainHeadResponse {
        let stub = self.stub
        return try await retryingUnavailable { try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest()) }
    }

    /// Forgets the session, so the next private read creates one (after the node refused the token: a node restarted
    /// or replaced).
    public func forgetSession() { session = nil }

    /// Runs `body`, and again after each of `retry`'s delays while it fails with UNAVAILABLE, or RESOURCE_EXHAUSTED
    /// (a node's rate limit, which says to retry shortly): for calls that are safe to repeat (reads, and transactions
    /// resent with the same bytes). A proof read after a transaction committed must not make the transaction look
    /// refused because the node's address limit was reached.
    func retryingUnavailable<Result>(_ body: () async throws -> Result) async throws -> Result {
        var repetition = 0
        while true {
            do {
                return try await body()
            } catch let error as RPCError where error.code == .unavailable || error.code == .resourceExhausted {
                repetition += 1
                guard let delay = retry.delay(beforeRepetition: repetition) else { throw error }
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Runs a private read (ListGrants, say) with options carrying the session's token, asked again while it fails
    /// with UNAVAILABLE (as `retry` says). When the node answers UNAUTHENTICATED (it does not know the token: another
    /// node of a cluster after a failover, or a restarted node; or it expired early by the node's clock) the session is
    /// made again, once, and the read repeated; a second refusal is the caller's. For reads only: `call` may run more
    /// than once.
    public func withSession<Result>(_ call: (CallOptions) async throws -> Result) async throws -> Result {
        try await retryingUnavailable {
            do {
                return try await call(try await authenticated())
            } catch let error as RPCError where error.code == .unauthenticated {
                forgetSession()
                return try await call(try await authenticated())
            }
        }
    }

    /// Call options carrying a valid session token, creating or renewing the session when needed.
    public func authenticated(_ options: CallOptions = CallOptions()) async throws -> CallOptions {
        var options = options
        options.metadata.add("Bearer \(try await sessionToken())", forKey: "authorization")
        return options
    }

    /// A valid session token.
    public func sessionToken() async throws -> String {
        if let session, session.expiresAt - Self.now() > 30_000 { return session.token }
        let (identity, chainID, stub) = (self.identity, try await chain(), self.stub)
        // The challenge and the session are asked for again together: a challenge is known only to the node that
        // made it.
        let response = try await retryingUnavailable {
            try await Self.createSession(for: identity, chainID: chainID, through: stub)
        }
        session = (response.token, response.expiresAtUnixMs)
        return response.token
    }

    /// Creates a new session for `identity` on chain `chainID` through `stub`: asks for a challenge, signs it and
    /// trades the signature for a token. For callers that already know the chain and keep their own tokens.
    public static func createSession(
        for identity: LedgerIdentity, chainID: String, through stub: Healthledger_V1_LedgerClient<Transport>
    ) async throws -> Healthledger_V1_CreateSessionResponse {
        var challengeRequest = Healthledger_V1_CreateSessionChallengeRequest()
        challengeRequest.principalId = identity.id
        challengeRequest.keyId = identity.key.publicKey.keyID
        challengeRequest.publicKey = identity.wirePublicKey
        let challenge = try await stub.createSessionChallenge(challengeRequest)
        var request = Healthledger_V1_CreateSessionRequest()
        request.principalId = identity.id
        request.keyId = identity.key.publicKey.keyID
        request.publicKey = identity.wirePublicKey
        request.challenge = challenge.challenge
        request.signature = TransactionSigner(identity: identity, chainID: chainID).sessionSignature(
            challenge: challenge.challenge)
        return try await stub.createSession(request)
    }

    /// The sequence number the principal's next transaction carries, asked of the node once.
    private func sequence() async throws -> UInt64 {
        if let nextSequence { return nextSequence }
        var request = Healthledger_V1_GetPrincipalRequest()
        request.principalId = identity.id
        do {
            let stub = self.stub
            let principal = try await withSession { options in try await stub.getPrincipal(request, options: options) }
            nextSequence = principal.principal?.nextSequence ?? 1
            hasKeyOnLedger = true
        } catch let error as RPCError where error.code == .notFound {
            nextSequence = 1
            hasKeyOnLedger = false
        }
        return nextSequence!
    }

    /// Signs `operation` with the next sequence number and submits it with `send`; the sequence advances only
    /// once the node has committed it. Unless verification is off, the receipt is then checked: it must hold exactly
    /// the transaction sent, prove its inclusion, and its checkpoint must extend the history seen before (a
    /// `HistoryVerificationError` otherwise; the transaction was committed all the same).
    public func submit<Response: TransactionResponse>(
        _ operation: Healthledger_V1_TransactionBody.Operation,
        send: @Sendable (Healthledger_V1_SignedTransaction) async throws -> Response
    ) async throws -> Response {
        // Checked after the retry loop: a proof fetched while checking must not make the transaction be sent again.
        let (response, signed) = try await submitUnchecked(operation, send: send)
        try await verifyReceipt(response.receipt, of: signed)
        return response
    }

    private func submitUnchecked<Response: Sendable>(
        _ operation: Healthledger_V1_TransactionBody.Operation,
        send: @Sendable (Healthledger_V1_SignedTransaction) async throws -> Response
    ) async throws -> (Response, Healthledger_V1_SignedTransaction) {
        let chainID = try await chain()
        let sequence = try await sequence()
        let signed = TransactionSigner(identity: identity, chainID: chainID).sign(
            operation, sequence: sequence, createdAt: Self.now(), attachPublicKey: !hasKeyOnLedger)
        var attempt = 0
        while true {
            do {
                let response = try await send(signed)
                nextSequence = sequence + 1
                hasKeyOnLedger = true
                return (response, signed)
            } catch let error as RPCError
                where error.code == .unavailable && retry.delay(beforeRepetition: attempt + 1) != nil
            {
                // The same bytes again: through a failover transport, to the next node.
                attempt += 1
                try await Task.sleep(for: retry.delay(beforeRepetition: attempt)!)
            } catch let error as RPCError where error.code == .alreadyExists && attempt > 0 {
                // An earlier attempt was committed: the transaction took effect.
                nextSequence = sequence + 1
                hasKeyOnLedger = true
                throw error
            } catch let error as RPCError where error.code == .failedPrecondition {
                self.nextSequence = nil  // re-learn the sequence next time
                throw error
            }
        }
    }

    /// Commits a grant; `grant.patient` defaults to this principal.
    public func grant(_ grant: Healthledger_V1_Grant) async throws -> Healthledger_V1_GrantResponse {
        var grant = grant
        if grant.patient.isEmpty { grant.patient = identity.id }
        let stub = self.stub
        return try await submit(.grant(grant)) { signed in
            var request = Healthledger_V1_GrantRequest()
            request.transaction = signed
            return try await stub.grant(request)
        }
    }

    /// Revokes a grant.
    public func revoke(grantID: String, delegationGrantID: String? = nil) async throws -> Healthledger_V1_RevokeResponse {
        var revoke = Healthledger_V1_Revoke()
        revoke.grantId = grantID
        revoke.delegationGrantId = delegationGrantID
        let stub = self.stub
        return try await submit(.revoke(revoke)) { signed in
            var request = Healthledger_V1_RevokeRequest()
            request.transaction = signed
            return try await stub.revoke(request)
        }
    }

    /// Opens break-glass emergency access to a patient's records.
    public func openEmergencyAccess(
        patient: String, categories: [Healthledger_V1_DataCategory], reason: String, durationMs: Int64 = 3_600_000
    ) async throws -> Healthledger_V1_OpenEmergencyAccessResponse {
        var access = Healthledger_V1_EmergencyAccess()
        access.patient = patient
        access.categories = categories
        access.reason = reason
        access.durationMs = durationMs
        let stub = self.stub
        return try await submit(.emergencyAccess(access)) { signed in
            var request = Healthledger_V1_OpenEmergencyAccessRequest()
            request.transaction = signed
            return try await stub.openEmergencyAccess(request)
        }
    }

    /// The metadata a write transaction commits for content of `sizeBytes` bytes hashing to `sha256`.
    public static func recordMetadata(
        patient: String, category: Healthledger_V1_DataCategory, sha256: [UInt8], sizeBytes: UInt64,
        mediaType: String, effectiveAt: Int64 = 0, labels: [String: String] = [:], amends: String? = nil
    ) -> Healthledger_V1_RecordMetadata {
        var metadata = Healthledger_V1_RecordMetadata()
        metadata.patient = patient
        metadata.category = category
        metadata.contentSha256 = sha256
        metadata.sizeBytes = sizeBytes
        metadata.mediaType = mediaType
        metadata.effectiveAtUnixMs = effectiveAt
        metadata.labels = labels
        metadata.amendsRecordId = amends
        return metadata
    }

    /// Writes a record whose content is streamed from `content` in chunks of at most 1 MiB, so memory stays
    /// bounded whatever its size. `beforeSending` sees the signed transaction before its first attempt (to
    /// journal it for a resubmission after a crash). A retry that finds the transaction already committed
    /// counts as written: the response then has the record id and no receipt.
    public func write(
        patient: String, category: Healthledger_V1_DataCategory, content: RecordContentFile, mediaType: String,
        effectiveAt: Int64 = 0, labels: [String: String] = [:], amends: String? = nil,
        beforeSending: @Sendable (Healthledger_V1_SignedTransaction) throws -> Void = { _ in }
    ) async throws -> Healthledger_V1_WriteResponse {
        let metadata = Self.recordMetadata(
            patient: patient, category: category, sha256: content.sha256, sizeBytes: content.sizeBytes,
            mediaType: mediaType, effectiveAt: effectiveAt, labels: labels, amends: amends)
        let sent = Mutex<Healthledger_V1_SignedTransaction?>(nil)
        do {
            return try await submit(.writeRecord(metadata)) { signed in
                if sent.withLock({ $0 == nil }) {
                    try beforeSending(signed)
                    sent.withLock { $0 = signed }
                }
                return try await self.sendWrite(signed, content: content)
            }
        } catch let error as RPCError where error.code == .alreadyExists {
            guard let signed = sent.withLock({ $0 }) else { throw error }
            var response = Healthledger_V1_WriteResponse()
            response.recordId = TransactionSigner.transactionID(of: signed)
            return response
        }
    }

    /// Sends a write transaction signed earlier with the content it commits, without retrying: the building
    /// block of `write` and of resubmitting a journalled transaction. A content file that fails while being
    /// read ends the call with its `RecordContentError`.
    public nonisolated func sendWrite(
        _ signed: Healthledger_V1_SignedTransaction, content: RecordContentFile
    ) async throws -> Healthledger_V1_WriteResponse {
        do {
            return try await stub.write(WriteMessages(transaction: signed, content: content))
        } catch let error as RPCError where error.code == .cancelled {
            if let failure = content.lastReadFailure { throw failure }
            throw error
        }
    }

    /// Resubmits a write transaction signed earlier (one journalled before a crash) with its content. Returns
    /// the response, or one with only the record id when the node had already committed it (ALREADY_EXISTS).
    /// The next sequence number is asked of the node again afterwards.
    public func resubmitWrite(
        _ signed: Healthledger_V1_SignedTransaction, content: RecordContentFile
    ) async throws -> Healthledger_V1_WriteResponse {
        nextSequence = nil
        hasKeyOnLedger = false
        do {
            let response = try await sendWrite(signed, content: content)
            try await verifyReceipt(response.receipt, of: signed)
            return response
        } catch let error as RPCError where error.code == .alreadyExists {
            var response = Healthledger_V1_WriteResponse()
            response.recordId = TransactionSigner.transactionID(of: signed)
            return response
        }
    }

    /// Writes a record: the signed metadata, then the content in chunks of at most 1 MiB; `amends` names the
    /// record this one corrects. A retry that finds the transaction already committed (an earlier attempt's answer
    /// was lost) counts as written, as for a content file: the response then has the record id and no receipt.
    public func write(
        patient: String, category: Healthledger_V1_DataCategory, content: [UInt8], mediaType: String,
        effectiveAt: Int64 = 0, labels: [String: String] = [:], amends: String? = nil
    ) async throws -> Healthledger_V1_WriteResponse {
        let metadata = Self.recordMetadata(
            patient: patient, category: category, sha256: SHA256.hash(content), sizeBytes: UInt64(content.count),
            mediaType: mediaType, effectiveAt: effectiveAt, labels: labels, amends: amends)
        let stub = self.stub
        let sent = Mutex<(transaction: Healthledger_V1_SignedTransaction?, attempts: Int)>((nil, 0))
        do {
            return try await submit(.writeRecord(metadata)) { signed in
                sent.withLock { $0 = (signed, $0.attempts + 1) }
                return try await Self.sendWrite(signed, content: content, through: stub)
            }
        } catch let error as RPCError where error.code == .alreadyExists {
            let (signed, attempts) = sent.withLock { $0 }
            guard let signed, attempts > 1 else { throw error }
            var response = Healthledger_V1_WriteResponse()
            response.recordId = TransactionSigner.transactionID(of: signed)
            return response
        }
    }

    /// Sends a write transaction with content in memory, in chunks of at most 1 MiB, without retrying.
    private static func sendWrite(
        _ signed: Healthledger_V1_SignedTransaction, content: [UInt8],
        through stub: Healthledger_V1_LedgerClient<Transport>
    ) async throws -> Healthledger_V1_WriteResponse {
        var messages: [Healthledger_V1_WriteRequest] = []
        var first = Healthledger_V1_WriteRequest()
        first.part = .transaction(signed)
        messages.append(first)
        var offset = 0
        while offset < content.count {
            let end = min(content.count, offset + (1 << 20))
            var chunk = Healthledger_V1_ContentChunk()
            chunk.data = Array(content[offset..<end])
            chunk.offsetBytes = UInt64(offset)
            var message = Healthledger_V1_WriteRequest()
            message.part = .chunk(chunk)
            messages.append(message)
            offset = end
        }
        return try await stub.write(AsyncMessages(messages))
    }

    /// Runs a query and collects the records and their content. Unless verification is off, the query's own audit
    /// event must come with a proof that it is in the log (and the log must extend the history seen before) before
    /// anything released is accepted. A query whose answer ends with UNAVAILABLE (the node went away, or could not log the query and released
    /// nothing) is asked again from the start, with a new session once when the node does not know the token.
    public func query(_ request: Healthledger_V1_QueryRequest) async throws -> QueryResult {
        let stub = self.stub
        return try await withSession { options in
            try await collectQuery(try await stub.query(request, options: options))
        }
    }

    /// The records and content of one query's answer, its audit event checked first.
    private func collectQuery(_ stream: ResponseStream<Healthledger_V1_QueryResponse>) async throws -> QueryResult {
        var result = QueryResult()
        for try await message in stream {
            switch message.part {
            case .started(let started)?:
                result.auditSequence = started.auditSequence
                if verification.isEnabled {
                    guard let logged = started.auditEvent else {
                        throw HistoryVerificationError(.malformed, "the query's answer carries no audit event")
                    }
                    guard logged.event?.sequence == started.auditSequence else {
                        throw HistoryVerificationError(
                            .entryMismatch,
                            "the query's audit event is number \(logged.event?.sequence ?? 0), the node said "
                                + "\(started.auditSequence)")
                    }
                    try await verify(logged)
                }
            case .record(let record)?: result.records.append((record, []))
            case .chunk(let chunk)?:
                guard !result.records.isEmpty else { throw RPCError(.internalError, "content before its record") }
                result.records[result.records.count - 1].content += chunk.data
            case nil: break
            }
        }
        return result
    }

    /// Streams a patient's audit events (see Ledger.AuditStream). Unless verification is off, the node's chain head is
    /// checked first, proofs are asked for, and every event's proof is checked as it arrives: iterating throws
    /// `HistoryVerificationError` at the first event that does not verify. Returns once the stream's first message
    /// has arrived (an event, or the end of the replay): until then it is opened again after UNAVAILABLE, and with a
    /// new session when the node does not know the token.
    public func auditStream(_ request: Healthledger_V1_AuditStreamRequest) async throws
        -> ResponseStream<Healthledger_V1_AuditStreamResponse>
    {
        let stub = self.stub
        guard verification.isEnabled else {
            return try await openPrivateStream { options in try await stub.auditStream(request, options: options) }
        }
        try await checkChainHead()
        var request = request
        request.includeProofs = true
        let stream = try await openPrivateStream { [request] options in
            try await stub.auditStream(request, options: options)
        }
        return ResponseStream(VerifiedAuditMessages(base: stream, client: self), metadata: stream.metadata)
    }
}

/// An audit stream whose events are checked by the client as they arrive.
struct VerifiedAuditMessages<Transport: ClientTransport>: AsyncSequence, Sendable {
    typealias Element = Healthledger_V1_AuditStreamResponse
    let base: ResponseStream<Healthledger_V1_AuditStreamResponse>
    let client: LedgerClient<Transport>

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), client: client) }

    struct Iterator: AsyncIteratorProtocol {
        var base: ResponseStream<Healthledger_V1_AuditStreamResponse>.AsyncIterator
        let client: LedgerClient<Transport>

        mutating func next() async throws -> Healthledger_V1_AuditStreamResponse? {
            guard let message = try await base.next() else { return nil }
            if case .event(let logged)? = message.item { try await client.verify(logged) }
            return message
        }
    }
}

/// What a query released.
public struct QueryResult: Sendable {
    /// Sequence of the audit event that logged the query.
    public var auditSequence: UInt64 = 0
    /// Each record with its content (empty when content was not asked for or was erased).
    public var records: [(record: Healthledger_V1_Record, content: [UInt8])] = []
}

/// A finite async sequence over messages already in memory.
struct AsyncMessages<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]
    init(_ elements: [Element]) { self.elements = elements }
    func makeAsyncIterator() -> Iterator { Iterator(elements: elements) }
    struct Iterator: AsyncIteratorProtocol {
        var elements: [Element]
        var index = 0
        mutating func next() async -> Element? {
            guard index < elements.count else { return nil }
            defer { index += 1 }
            return elements[index]
        }
    }
}

/// A write's request stream: the signed transaction, then the content chunks read from the file as needed.
struct WriteMessages: AsyncSequence, Sendable {
    typealias Element = Healthledger_V1_WriteRequest
    let transaction: Healthledger_V1_SignedTransaction
    let content: RecordContentFile

    func makeAsyncIterator() -> Iterator {
        Iterator(transaction: transaction, chunks: content.chunkMessages().makeAsyncIterator())
    }

    struct Iterator: AsyncIteratorProtocol {
        var transaction: Healthledger_V1_SignedTransaction?
        var chunks: ContentChunkMessages.Iterator

        mutating func next() async throws -> Healthledger_V1_WriteRequest? {
            if let transaction {
                self.transaction = nil
                var first = Healthledger_V1_WriteRequest()
                first.part = .transaction(transaction)
                return first
            }
            return try await chunks.next()
        }
    }
}
