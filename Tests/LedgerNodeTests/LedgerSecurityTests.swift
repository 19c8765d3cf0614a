import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerNode
import ProtobufWire
import RPCCore
import Synchronization
import Testing

/// The security stories: every bad input, sent over the real TLS transport, gets its exact gRPC status, a message
/// that names what was wrong (or, when policy says no, reveals nothing about records), changes nothing on the
/// ledger, and, when it was an access attempt, shows in the patient's audit trail as denied.
@Suite("Ledger security over TLS")
enum LedgerSecurityTests {}

extension LedgerSecurityTests {
    @Suite("Signatures")
    struct Signatures {
        @Test("a grant whose body was changed after signing is UNAUTHENTICATED, and the would-be grantee reads nothing")
        func bodyChangedAfterSigning() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let mallory = try Participant(on: node)
                let sequence = try await patient.nextSequence()

                var signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)))
                // A well-formed body naming mallory instead, under the signature made for the clinician's.
                var body = try Healthledger_V1_TransactionBody(serializedBytes: signed.body)
                body.operation = .grant(
                    .permit(to: mallory.id, actions: [.read], categories: [.labs]).about(patient.id))
                signed.body = body.serializedBytes()

                let error = await expectStatus(.unauthenticated, "a body changed after signing") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.signature")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                let denied = await expectStatus(.permissionDenied, "mallory's query") {
                    try await mallory.client.query(.of(patient.id, [.labs]))
                }
                expectRevealsNothing(denied, records: [record], contents: [content])
                let trail = try await patient.auditTrail(of: patient.id)
                #expect(trail.filter { $0.actor == mallory.id }.map(\.outcome) == [.denied])
            }
        }

        @Test("a grant whose signature has one bit flipped is UNAUTHENTICATED and grants nothing")
        func signatureBitFlipped() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try await patient.nextSequence()

                var signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)))
                signed.signature[17] ^= 0x04

                let error = await expectStatus(.unauthenticated, "a flipped signature bit") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.signature")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)
            }
        }

        @Test("mallory's key signing a body authored by the patient, under mallory's own key id, is UNAUTHENTICATED")
        func anotherPrincipalsKeyWithItsKeyID() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let (mallory, _, _) = try await Participant.patientWithLabResult(on: node)  // her key is on the ledger
                let sequence = try await patient.nextSequence()
                let malloryAsPatient = LedgerIdentity(
                    principalID: patient.identity.principalID, key: mallory.identity.key)
                let grant = Healthledger_V1_Grant.permit(to: mallory.id, actions: [.read], categories: [.labs]).about(
                    patient.id)

                // Her key as it is on the ledger.
                let registered = TransactionSigner(identity: malloryAsPatient, chainID: testChainID).sign(
                    .grant(grant), sequence: sequence!, createdAt: wallClock(), attachPublicKey: false)
                #expect(registered.keyId == mallory.identity.key.publicKey.keyID)
                let error = await expectStatus(.unauthenticated, "mallory's registered key for the patient") {
                    try await patient.submitGrant(registered)
                }
                expectNames(error, field: "transaction.key_id")

                // A key the ledger has never seen, attached to the transaction.
                let stranger = LedgerIdentity(
                    principalID: patient.identity.principalID, key: SigningPrivateKey.generate(.ecdsaP256))
                let attached = TransactionSigner(identity: stranger, chainID: testChainID).sign(
                    .grant(grant), sequence: sequence!, createdAt: wallClock(), attachPublicKey: true)
                await expectStatus(.unauthenticated, "an unknown key attached for the patient") {
                    try await patient.submitGrant(attached)
                }

                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                #expect(await mallory.mayRead(patient.id, [.labs]) == false)
            }
        }

        @Test("mallory's signature over a patient-authored body under the patient's key id is UNAUTHENTICATED")
        func anotherPrincipalsKeyWithThePatientsKeyID() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let mallory = try Participant(on: node)
                let sequence = try await patient.nextSequence()

                var signed = try await patient.signed(
                    .grant(.permit(to: mallory.id, actions: [.read], categories: [.labs]).about(patient.id)))
                signed.signature = mallory.identity.key.signature(for: signed.body)
                #expect(signed.keyId == patient.identity.key.publicKey.keyID)

                let error = await expectStatus(.unauthenticated, "mallory's signature under the patient's key id") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.signature")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                #expect(await mallory.mayRead(patient.id, [.labs]) == false)
            }
        }

        @Test(
            "a first transaction for a principal not yet on the ledger, signed with a key that does not derive its id, is UNAUTHENTICATED"
        )
        func firstTransactionWithAKeyThatDoesNotDeriveTheID() async throws {
            try await withLedgerNode { node in
                let patient = try Participant(on: node)  // not on the ledger yet
                let mallory = try Participant(on: node)
                let malloryAsPatient = LedgerIdentity(
                    principalID: patient.identity.principalID, key: mallory.identity.key)
                let signed = TransactionSigner(identity: malloryAsPatient, chainID: testChainID).sign(
                    .grant(.permit(to: mallory.id, actions: [.read], categories: [.all]).about(patient.id)),
                    sequence: 1, createdAt: wallClock(), attachPublicKey: true)

                let error = await expectStatus(.unauthenticated, "a claimed first key") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.public_key")
                #expect(try await patient.nextSequence() == nil)
                #expect(try await mallory.listedGrants(of: patient.id).isEmpty)
            }
        }
    }

    @Suite("Replay guard")
    struct ReplayGuard {
        @Test("the identical bytes of a committed grant, sent again, are ALREADY_EXISTS and applied once")
        func replayOfACommittedTransaction() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try #require(try await patient.nextSequence())
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)))
                let granted = try await patient.submitGrant(signed)

                let error = await expectStatus(.alreadyExists, "the same transaction again") {
                    try await patient.submitGrant(signed)
                }
                #expect(error?.message.contains(granted.grantId) == true)
                #expect(try await patient.nextSequence() == sequence + 1)
                #expect(try await patient.listedGrants(of: patient.id).map(\.grantId) == [granted.grantId])
            }
        }

        @Test("a sequence that skips one is FAILED_PRECONDITION and changes nothing")
        func sequenceGap() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try #require(try await patient.nextSequence())
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    sequence: sequence + 1)

                let error = await expectStatus(.failedPrecondition, "a sequence gap") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.sequence")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)
            }
        }

        @Test("a used sequence with a different body is FAILED_PRECONDITION and changes nothing")
        func sequenceReuseWithADifferentBody() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let used = try #require(try await patient.nextSequence()) - 1
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    sequence: used)

                let error = await expectStatus(.failedPrecondition, "a reused sequence") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.sequence")
                #expect(try await patient.nextSequence() == used + 1)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }

        @Test("a transaction for another chain is FAILED_PRECONDITION and changes nothing")
        func wrongChainID() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try await patient.nextSequence()
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    chainID: "production-chain")

                let error = await expectStatus(.failedPrecondition, "another chain's transaction") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.chain_id")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }

        @Test("a transaction created 10 minutes in the future is FAILED_PRECONDITION and changes nothing")
        func createdAtInTheFuture() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try await patient.nextSequence()
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    createdAt: wallClock() + 600_000)

                let error = await expectStatus(.failedPrecondition, "created_at 10 minutes ahead") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.created_at_unix_ms")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }

        @Test("a transaction whose expires_at has passed is FAILED_PRECONDITION and changes nothing")
        func expiresAtPassed() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try await patient.nextSequence()
                let now = wallClock()
                let signed = try await patient.signed(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    createdAt: now - 600_000, expiresAt: now - 300_000)

                let error = await expectStatus(.failedPrecondition, "expires_at in the past") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.expires_at_unix_ms")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }
    }

    /// The ways a principal id can be malformed.
    enum MalformedPrincipalID: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case badChecksum, uppercase, tooShort, tooLong

        /// `valid`, spoiled this way.
        func spoil(_ valid: String) -> String {
            switch self {
            case .badChecksum:
                // One substituted character of the Bech32m alphabet: the checksum catches it.
                return String(valid.dropLast()) + (valid.last == "q" ? "p" : "q")
            case .uppercase: return valid.uppercased()
            case .tooShort: return String(valid.dropLast())
            case .tooLong: return valid + "q"
            }
        }

        var testDescription: String { rawValue }
    }

    @Suite("Malformed ids")
    struct MalformedIDs {
        @Test(
            "a grant to a malformed grantee id is INVALID_ARGUMENT naming transaction.body.grant.grantee",
            arguments: MalformedPrincipalID.allCases)
        func malformedGrantee(_ kind: MalformedPrincipalID) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let sequence = try await patient.nextSequence()
                let signed = try await patient.signed(
                    .grant(
                        .permit(to: kind.spoil(clinician.id), actions: [.read], categories: [.labs]).about(patient.id)))

                let error = await expectStatus(.invalidArgument, "grantee \(kind)") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.grant.grantee")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }

        @Test(
            "a query of a malformed patient id is INVALID_ARGUMENT naming patient",
            arguments: MalformedPrincipalID.allCases)
        func malformedQueryPatient(_ kind: MalformedPrincipalID) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))

                let error = await expectStatus(.invalidArgument, "query patient \(kind)") {
                    try await clinician.client.query(.of(kind.spoil(patient.id), [.labs]))
                }
                expectNames(error, field: "patient")
                #expect(try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }.isEmpty)
            }
        }

        @Test(
            "an audit stream of a malformed patient id is INVALID_ARGUMENT naming patient",
            arguments: MalformedPrincipalID.allCases)
        func malformedAuditPatient(_ kind: MalformedPrincipalID) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let error = await expectStatus(.invalidArgument, "audit patient \(kind)") {
                    try await patient.auditTrail(of: kind.spoil(patient.id))
                }
                expectNames(error, field: "patient")
            }
        }

        @Test("a PERMIT to \"*\" is INVALID_ARGUMENT naming transaction.body.grant.grantee")
        func permitToEveryone() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let signed = try await patient.signed(
                    .grant(.permit(to: "*", actions: [.read], categories: [.labs]).about(patient.id)))
                let error = await expectStatus(.invalidArgument, "PERMIT to everyone") {
                    try await patient.submitGrant(signed)
                }
                expectNames(error, field: "transaction.body.grant.grantee")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
            }
        }

        @Test(
            "a revoke of a malformed grant id is INVALID_ARGUMENT naming transaction.body.revoke.grant_id",
            arguments: ["abc123", String(repeating: "AB", count: 32), String(repeating: "g", count: 64), ""])
        func malformedRevokedGrantID(_ grantID: String) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
                let sequence = try await patient.nextSequence()
                var revoke = Healthledger_V1_Revoke()
                revoke.grantId = grantID
                let signed = try await patient.signed(.revoke(revoke))

                let error = await expectStatus(.invalidArgument, "revoke of \"\(grantID)\"") {
                    try await patient.submitRevoke(signed)
                }
                expectNames(error, field: "transaction.body.revoke.grant_id")
                #expect(try await patient.nextSequence() == sequence)
                #expect(await clinician.mayRead(patient.id, [.labs]))
            }
        }

        @Test("a revoke of a well-formed but unknown grant id is NOT_FOUND and changes nothing")
        func unknownRevokedGrantID() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                var revoke = Healthledger_V1_Revoke()
                revoke.grantId = Hex.encode(SHA256.hash(Array("no such grant".utf8)))
                let signed = try await patient.signed(.revoke(revoke))

                let error = await expectStatus(.notFound, "revoke of an unknown grant") {
                    try await patient.submitRevoke(signed)
                }
                expectNames(error, field: "transaction.body.revoke.grant_id")
                #expect(try await patient.nextSequence() == sequence)
            }
        }

        @Test("revoking a grant a second time is FAILED_PRECONDITION and changes nothing")
        func alreadyRevoked() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let granted = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs]))
                let revoked = try await patient.client.revoke(grantID: granted.grantId)
                let sequence = try await patient.nextSequence()
                var revoke = Healthledger_V1_Revoke()
                revoke.grantId = granted.grantId
                let signed = try await patient.signed(.revoke(revoke))

                let error = await expectStatus(.failedPrecondition, "a second revoke") {
                    try await patient.submitRevoke(signed)
                }
                expectNames(error, field: "transaction.body.revoke.grant_id")
                #expect(try await patient.nextSequence() == sequence)
                let listed = try await patient.listedGrants(of: patient.id)
                #expect(listed.map(\.state) == [.revoked])
                #expect(listed.first?.revokeTransactionId == revoked.receipt?.transactionId)
            }
        }
    }

    @Suite("Sessions")
    struct Sessions {
        @Test("a query without a session token is UNAUTHENTICATED and decides nothing")
        func queryWithoutToken() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))

                await expectStatus(.unauthenticated, "a query without a token") {
                    try await drain(try await clinician.client.stub.query(.of(patient.id, [.labs])))
                }
                #expect(try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }.isEmpty)
            }
        }

        @Test(
            "a query with a garbage token is UNAUTHENTICATED",
            arguments: ["Bearer hl_not-a-token-this-node-issued", "Bearer", "Basic dXNlcjpwYXNz", "hl_no-scheme"])
        func queryWithGarbageToken(_ authorization: String) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                var options = CallOptions()
                options.metadata.add(authorization, forKey: "authorization")
                await expectStatus(.unauthenticated, "authorization \"\(authorization)\"") {
                    try await drain(try await patient.client.stub.query(.of(patient.id, [.labs]), options: options))
                }
            }
        }

        @Test("a token over 512 characters is UNAUTHENTICATED")
        func overlongToken() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let token = try await patient.client.sessionToken()
                var options = CallOptions()
                options.metadata.add("Bearer " + token + String(repeating: "a", count: 512), forKey: "authorization")
                await expectStatus(.unauthenticated, "an overlong token") {
                    try await drain(try await patient.client.stub.query(.of(patient.id, [.labs]), options: options))
                }
            }
        }

        @Test("a deleted session's token is UNAUTHENTICATED")
        func deletedSession() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let options = try await patient.client.authenticated()
                _ = try await patient.client.stub.deleteSession(
                    Healthledger_V1_DeleteSessionRequest(), options: options)
                await expectStatus(.unauthenticated, "a deleted session") {
                    try await drain(try await patient.client.stub.query(.of(patient.id, [.labs]), options: options))
                }
            }
        }

        @Test("a challenge used once cannot be exchanged again: UNAUTHENTICATED")
        func challengeReuse() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let request = try await signedSessionRequest(for: patient.identity, stub: patient.client.stub)
                let first = try await patient.client.stub.createSession(request)
                #expect(!first.token.isEmpty)
                let error = await expectStatus(.unauthenticated, "the same challenge again") {
                    try await patient.client.stub.createSession(request)
                }
                expectNames(error, field: "challenge")
            }
        }

        @Test("a challenge signed by another key is UNAUTHENTICATED, and the challenge is spent")
        func challengeSignedByAnotherKey() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                var request = try await signedSessionRequest(for: patient.identity, stub: patient.client.stub)
                let honest = request.signature
                request.signature = SigningPrivateKey.generate(.ed25519).signature(for: Array("anything".utf8))
                await expectStatus(.unauthenticated, "a foreign signature") {
                    try await patient.client.stub.createSession(request)
                }
                request.signature = honest
                await expectStatus(.unauthenticated, "the spent challenge, now correctly signed") {
                    try await patient.client.stub.createSession(request)
                }
            }
        }

        @Test("a challenge issued to one principal cannot open a session for another: UNAUTHENTICATED")
        func challengeOfAnotherPrincipal() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let mallory = try Participant(on: node)
                let patientsRequest = try await signedSessionRequest(for: patient.identity, stub: patient.client.stub)
                var request = try await signedSessionRequest(for: mallory.identity, stub: mallory.client.stub)
                request.challenge = patientsRequest.challenge
                request.signature = TransactionSigner(identity: mallory.identity, chainID: testChainID)
                    .sessionSignature(
                        challenge: patientsRequest.challenge)
                await expectStatus(.unauthenticated, "mallory redeeming the patient's challenge") {
                    try await mallory.client.stub.createSession(request)
                }
            }
        }

        @Test("a session token past its lifetime is UNAUTHENTICATED")
        func expiredToken() async throws {
            let clock = ManualClock(wallClock())
            try await withLedgerNode(configure: { $0.clock = { clock.now } }) { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let options = try await patient.client.authenticated()
                clock.set(clock.now + 15 * 60_000)
                await expectStatus(.unauthenticated, "a token 15 minutes old") {
                    try await drain(try await patient.client.stub.query(.of(patient.id, [.labs]), options: options))
                }
            }
        }

        @Test("a live audit stream whose token expired ends with UNAUTHENTICATED instead of delivering the next event")
        func followingStreamEndsWhenTheTokenExpires() async throws {
            let clock = ManualClock(wallClock())
            try await withLedgerNode(configure: { $0.clock = { clock.now } }) { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)  // signs in only after the clock moved
                // A deadline ends the stream if the node never does; it bounds the access attempt and the delivery
                // together, so it is scaled for a slow build.
                let options = try await patient.client.authenticated(
                    CallOptions(timeout: LatencyBound.allowing(.seconds(3))))
                let stream = try await patient.client.stub.auditStream(.following(patient.id), options: options)
                let following = Task { () -> (events: [Healthledger_V1_AuditEvent], error: RPCError?) in
                    var events: [Healthledger_V1_AuditEvent] = []
                    do {
                        for try await message in stream {
                            if case .event(let logged)? = message.item, let event = logged.event {
                                events.append(event)
                            }
                        }
                        return (events, nil)
                    } catch let error as RPCError {
                        return (events, error)
                    } catch {
                        return (events, RPCError(.unknown, "\(error)"))
                    }
                }
                clock.set(clock.now + 15 * 60_000)
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)
                let (events, error) = await following.value
                #expect(error?.code == .unauthenticated)
                #expect(!events.contains { $0.actor == clinician.id })
            }
        }

        /// A CreateSession request for `identity`, with a fresh challenge correctly signed.
        func signedSessionRequest(
            for identity: LedgerIdentity, stub: Healthledger_V1_LedgerClient<HTTP2ClientTransport>
        ) async throws -> Healthledger_V1_CreateSessionRequest {
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
            request.signature = TransactionSigner(identity: identity, chainID: challenge.chainId).sessionSignature(
                challenge: challenge.challenge)
            return request
        }
    }

    @Suite("Key rotation")
    struct KeyRotation {
        /// A RotateKey operation to `newKey`, with `proof` (by default, the correct possession proof by `newKey`).
        static func rotation(
            of identity: LedgerIdentity, to newKey: SigningPrivateKey, proof: [UInt8]? = nil
        ) -> Healthledger_V1_TransactionBody.Operation {
            var rotate = Healthledger_V1_RotateKey()
            rotate.newPublicKey = LedgerIdentity(firstKey: newKey).wirePublicKey
            rotate.newKeyProof =
                proof ?? TransactionSigner(identity: identity, chainID: testChainID).keyPossessionProof(newKey: newKey)
            return .rotateKey(rotate)
        }

        @Test(
            "after a rotation signed with the current key, the old key's transactions are FAILED_PRECONDITION, its sessions UNAUTHENTICATED, and the new key works"
        )
        func rotationRetiresTheOldKey() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let oldSession = try await patient.client.authenticated()
                let newKey = SigningPrivateKey.generate(.ecdsaP256)

                let rotated = try await patient.submitRotateKey(
                    try await patient.signed(Self.rotation(of: patient.identity, to: newKey)))
                #expect(rotated.newKeyId == newKey.publicKey.keyID)
                let renewed = try Participant(
                    LedgerIdentity(principalID: patient.identity.principalID, key: newKey), on: node)
                let sequence = try #require(try await renewed.nextSequence())

                // The old key can no longer sign.
                let stale = TransactionSigner(identity: patient.identity, chainID: testChainID).sign(
                    .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                    sequence: sequence, createdAt: wallClock(), attachPublicKey: false)
                let error = await expectStatus(.failedPrecondition, "a transaction signed with the retired key") {
                    try await patient.submitGrant(stale)
                }
                expectNames(error, field: "transaction.key_id")
                #expect(try await renewed.nextSequence() == sequence)
                #expect(try await renewed.listedGrants(of: patient.id).isEmpty)

                // Nor hold a session: neither the one it opened before nor a new one.
                await expectStatus(.unauthenticated, "a session opened with the retired key") {
                    try await drain(try await patient.client.stub.query(.of(patient.id, [.labs]), options: oldSession))
                }
                let freshOld = try Participant(patient.identity, on: node)
                await expectStatus(.failedPrecondition, "a new session with the retired key") {
                    try await freshOld.client.sessionToken()
                }

                // The new key signs and reads.
                _ = try await renewed.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
                #expect(
                    try await clinician.client.query(.of(patient.id, [.labs])).records.map(\.record.recordId) == [
                        record
                    ])
                let principal = try #require(try await renewed.principalRecord())
                #expect(principal.currentKeyId == newKey.publicKey.keyID)
                #expect(principal.keys.map(\.keyId) == [patient.identity.key.publicKey.keyID, newKey.publicKey.keyID])
                #expect(principal.keys.first?.retiredAtHeight != nil)
            }
        }

        @Test(
            "a rotation whose possession proof is not by the new key is UNAUTHENTICATED and keeps the old key",
            arguments: ["foreign key", "other chain", "flipped bit"])
        func badPossessionProof(_ flaw: String) async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let newKey = SigningPrivateKey.generate(.ed25519)
                let sequence = try await patient.nextSequence()
                var proof: [UInt8]
                switch flaw {
                case "foreign key":
                    proof = TransactionSigner(identity: patient.identity, chainID: testChainID).keyPossessionProof(
                        newKey: SigningPrivateKey.generate(.ed25519))
                case "other chain":
                    proof = TransactionSigner(identity: patient.identity, chainID: "other-chain").keyPossessionProof(
                        newKey: newKey)
                default:
                    proof = TransactionSigner(identity: patient.identity, chainID: testChainID).keyPossessionProof(
                        newKey: newKey)
                    proof[3] ^= 0x01
                }

                let error = await expectStatus(.unauthenticated, "a proof with a \(flaw)") {
                    try await patient.submitRotateKey(
                        try await patient.signed(Self.rotation(of: patient.identity, to: newKey, proof: proof)))
                }
                expectNames(error, field: "transaction.body.rotate_key.new_key_proof")
                #expect(try await patient.nextSequence() == sequence)
                let principal = try #require(try await patient.principalRecord())
                #expect(principal.currentKeyId == patient.identity.key.publicKey.keyID)
                #expect(principal.keys.count == 1)
            }
        }

        @Test("rotating to another principal's key is FAILED_PRECONDITION")
        func rotationToAnotherPrincipalsKey() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let (other, _, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                await expectStatus(.failedPrecondition, "another principal's key") {
                    try await patient.submitRotateKey(
                        try await patient.signed(Self.rotation(of: patient.identity, to: other.identity.key)))
                }
                #expect(try await patient.nextSequence() == sequence)
            }
        }

        @Test(
            "a live audit stream opened with a session of the retired key ends with UNAUTHENTICATED instead of delivering later events"
        )
        func followingStreamEndsAfterRotation() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                // A deadline ends the stream if the node never does. It bounds the rotation, the access attempt and
                // the delivery together (the node ends the stream as soon as the next event is due), so it is generous
                // and scaled: a loaded machine must not turn a slow delivery into a failure.
                let options = try await patient.client.authenticated(
                    CallOptions(timeout: LatencyBound.allowing(.seconds(15))))
                let stream = try await patient.client.stub.auditStream(.following(patient.id), options: options)
                let following = Task { () -> (events: [Healthledger_V1_AuditEvent], error: RPCError?) in
                    var events: [Healthledger_V1_AuditEvent] = []
                    do {
                        for try await message in stream {
                            if case .event(let logged)? = message.item, let event = logged.event {
                                events.append(event)
                            }
                        }
                        return (events, nil)
                    } catch let error as RPCError {
                        return (events, error)
                    } catch {
                        return (events, RPCError(.unknown, "\(error)"))
                    }
                }
                let newKey = SigningPrivateKey.generate(.ed25519)
                _ = try await patient.submitRotateKey(
                    try await patient.signed(Self.rotation(of: patient.identity, to: newKey)))

                // An access attempt after the rotation: the retired key's stream must not carry it.
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)
                let (events, error) = await following.value
                #expect(
                    error?.code == .unauthenticated,
                    "the stream of the retired key's session ended with \(error.map { "\($0)" } ?? "OK")")
                #expect(
                    !events.contains { $0.actor == clinician.id },
                    "an event committed after the rotation reached the retired key's stream")
            }
        }

        @Test(
            "an audit stream of the retired key's session sends no event committed after the rotation, even when the rotation lands while it is sending an earlier batch"
        )
        func streamSendingDuringRotation() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                // An event before the rotation, so the replay has something to send.
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)

                // The handler is called in process with the patient's session, through a writer that holds the first
                // event until the rotation and a later event are committed: the stream is then between two reads.
                let (held, heldContinuation) = AsyncStream<Void>.makeStream()
                let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
                let sent = SentAuditEvents()
                let responses = ResponseWriter<Healthledger_V1_AuditStreamResponse> { message in
                    guard case .event(let logged)? = message.item, let event = logged.event else { return }
                    let isFirst = sent.list.withLock { events in
                        events.append(event)
                        return events.count == 1
                    }
                    if isFirst {
                        heldContinuation.yield()
                        for await _ in release { break }
                    }
                }
                let context = ServerContext(
                    method: Healthledger_V1_LedgerMethods.auditStream,
                    metadata: try await patient.client.authenticated().metadata, peer: "in-process")
                let serving = Task { () -> RPCError? in
                    do {
                        try await node.server.node.service.auditStream(
                            request: .following(patient.id), responses: responses, context: context)
                        return nil
                    } catch let error as RPCError {
                        return error
                    } catch {
                        return RPCError(.unknown, "\(error)")
                    }
                }
                for await _ in held { break }

                let newKey = SigningPrivateKey.generate(.ed25519)
                _ = try await patient.submitRotateKey(
                    try await patient.signed(Self.rotation(of: patient.identity, to: newKey)))
                #expect(await clinician.mayRead(patient.id, [.vitals]) == false)
                releaseContinuation.yield()

                let error = await serving.value
                #expect(
                    error?.code == .unauthenticated,
                    "the stream of the retired key's session ended with \(error.map { "\($0)" } ?? "OK")")
                let vitalsReads = sent.list.withLock { $0 }.filter { event in
                    event.actor == clinician.id && event.categories.contains(.vitals)
                }
                #expect(vitalsReads.isEmpty, "an event committed after the rotation reached the retired key's stream")
            }
        }
    }
}

/// The events an in-process AuditStream handler sent, shared with the response writer that records them.
private final class SentAuditEvents: Sendable {
    let list = Mutex<[Healthledger_V1_AuditEvent]>([])
}
