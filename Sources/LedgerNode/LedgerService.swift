import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import RPCCore

/// The healthledger.v1.Ledger service: sessions, signed transactions, audited reads, the live audit trail and
/// the public chain. Handlers validate input, read the committed state under a short read lock, and hand every
/// change and every access decision to the block committer, answering only once it is durable.
public struct LedgerService: Healthledger_V1_LedgerService {
    let runtime: LedgerRuntime

    init(runtime: LedgerRuntime) {
        self.runtime = runtime
    }

    // MARK: Sessions

    public func createSessionChallenge(
        request: Healthledger_V1_CreateSessionChallengeRequest, context: ServerContext
    ) async throws -> Healthledger_V1_CreateSessionChallengeResponse {
        try runtime.rateLimiter.charge(peer: context.peer)
        // Any well-formed request gets a challenge: whether the principal or key is known is decided only once a
        // signature proves the caller holds the key, so an unauthenticated caller cannot learn who is on the
        // ledger from this answer.
        let (principal, keyID, _) = try sessionKey(
            principalID: request.principalId, keyID: request.keyId, publicKey: request.publicKey)
        let issued = try runtime.sessions.issueChallenge(principal: principal, keyID: keyID, now: runtime.now())
        var response = Healthledger_V1_CreateSessionChallengeResponse()
        response.challenge = issued.challenge
        response.expiresAtUnixMs = issued.expiresAt
        response.chainId = runtime.chainID
        return response
    }

    public func createSession(
        request: Healthledger_V1_CreateSessionRequest, context: ServerContext
    ) async throws -> Healthledger_V1_CreateSessionResponse {
        // Before the signature check: the caller has no principal yet, and proving one is the costly part.
        try runtime.rateLimiter.charge(peer: context.peer)
        try await runtime.awaitReadIndex()
        let (principal, keyID, attached) = try sessionKey(
            principalID: request.principalId, keyID: request.keyId, publicKey: request.publicKey)
        if request.challenge.count != 32 {
            throw InputValidation.invalid("challenge", "must be the 32 bytes CreateSessionChallenge returned")
        }
        if request.signature.count != 64 {
            throw InputValidation.invalid("signature", "must be 64 bytes, got \(request.signature.count)")
        }
        let now = runtime.now()
        guard runtime.sessions.redeem(request.challenge, principal: principal, keyID: keyID, now: now) != nil else {
            throw RPCError(.unauthenticated, "challenge: unknown, already used or expired; ask for a new one")
        }
        // Every way of not proving a key of the principal gets this one answer, so it tells a caller without the key
        // nothing about the principal (unknown, other key, rotated key, or a key that is not theirs at all).
        let notProven = RPCError(
            .unauthenticated,
            "signature: does not prove a key of \(principal); sign with its current key, and send public_key on its first session")
        let ledger = runtime.cell.read { state in
            (currentKeyID: state.principals[principal]?.currentKeyID, key: state.keys[keyID])
        }
        let ownedKey = ledger.key.flatMap { $0.owner == principal ? $0.key : nil }
        guard let key = ownedKey ?? attached else { throw notProven }
        let message = ContextLabel.message(
            context: ContextLabel.session,
            payload: Array(runtime.chainID.utf8) + [0] + Array(principal.text.utf8) + [0] + request.challenge)
        guard key.isValidSignature(request.signature, for: message) else { throw notProven }
        // The caller holds `key`: it may now learn what is wrong with it.
        if let current = ledger.currentKeyID {
            guard ownedKey != nil else { throw notProven }
            guard current == keyID else {
                _ = try await runtime.commitAudit(
                    AuditEvents.retiredKeySession(principal: principal.text, keyID: keyID, now: now))
                throw RPCError(
                    .failedPrecondition, "key_id: \(keyID) was retired by a key rotation; sign with the current key")
            }
        } else {
            guard let attached, PrincipalID(firstKey: attached) == principal else { throw notProven }
        }
        let session = runtime.sessions.createSession(
            principal: principal, keyID: keyID, ttlMs: request.requestedTtlMs, now: now)
        var response = Healthledger_V1_CreateSessionResponse()
        response.token = session.token
        response.expiresAtUnixMs = session.expiresAt
        return response
    }

    public func deleteSession(
        request: Healthledger_V1_DeleteSessionRequest, context: ServerContext
    ) async throws -> Healthledger_V1_DeleteSessionResponse {
        _ = try runtime.authenticate(context)
        runtime.sessions.delete(token: try SessionStore.bearerToken(in: context.metadata))
        return Healthledger_V1_DeleteSessionResponse()
    }

    /// The principal and key a session is asked for, checked for form only (the ledger is consulted once a
    /// signature proves the key): ids well formed, and the attached public key, parsed, matching `keyID`.
    private func sessionKey(
        principalID: String, keyID: String, publicKey: Healthledger_V1_PublicKey?
    ) throws(RPCError) -> (PrincipalID, String, SigningPublicKey?) {
        let principal = try InputValidation.principal(principalID, field: "principal_id")
        let keyID = try InputValidation.objectID(keyID, field: "key_id")
        let attached = try publicKey.map { (wire) throws(RPCError) in
            try TransactionValidator.publicKey(wire, field: "public_key")
        }
        if let attached, attached.keyID != keyID { throw InputValidation.invalid("key_id", "does not match public_key") }
        return (principal, keyID, attached)
    }

    // MARK: Transactions

    public func grant(
        request: Healthledger_V1_GrantRequest, context: ServerContext
    ) async throws -> Healthledger_V1_GrantResponse {
        let (transaction, receipt) = try await runtime.commitTransaction(request.transaction, kind: .grant)
        var response = Healthledger_V1_GrantResponse()
        response.grantId = transaction.id
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }

    public func revoke(
        request: Healthledger_V1_RevokeRequest, context: ServerContext
    ) async throws -> Healthledger_V1_RevokeResponse {
        let (transaction, receipt) = try await runtime.commitTransaction(request.transaction, kind: .revoke)
        var response = Healthledger_V1_RevokeResponse()
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }

    public func rotateKey(
        request: Healthledger_V1_RotateKeyRequest, context: ServerContext
    ) async throws -> Healthledger_V1_RotateKeyResponse {
        let (transaction, receipt) = try await runtime.commitTransaction(request.transaction, kind: .rotateKey)
        var response = Healthledger_V1_RotateKeyResponse()
        if case .rotateKey(let newKey, _) = transaction.operation { response.newKeyId = newKey.keyID }
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }

    public func erase(
        request: Healthledger_V1_EraseRequest, context: ServerContext
    ) async throws -> Healthledger_V1_EraseResponse {
        let (transaction, receipt) = try await runtime.commitTransaction(request.transaction, kind: .erasureRequest)
        let admission = receipt.admission!
        // The erasure is committed: destroy the content now. A crash before this finishes leaves files that
        // nothing will serve (records are marked erased), which the next start deletes.
        LedgerRuntime.destroyContent(
            erasedBy: [admission], cell: runtime.cell, contentStore: runtime.contentStore, logger: runtime.logger)
        var response = Healthledger_V1_EraseResponse()
        response.erasedRecordCount = UInt64(admission.erasedRecords.count)
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }

    public func openEmergencyAccess(
        request: Healthledger_V1_OpenEmergencyAccessRequest, context: ServerContext
    ) async throws -> Healthledger_V1_OpenEmergencyAccessResponse {
        let (transaction, receipt) = try await runtime.commitTransaction(request.transaction, kind: .emergencyAccess)
        var response = Healthledger_V1_OpenEmergencyAccessResponse()
        response.emergencyAccessId = transaction.id
        response.expiresAtUnixMs = receipt.admission?.emergencyExpiresAt ?? 0
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }
}
