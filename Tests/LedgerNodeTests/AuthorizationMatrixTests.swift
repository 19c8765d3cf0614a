import FHIRMapping
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// The authorization matrix (docs/AUTHORIZATION.md): every RPC, called by every kind of caller, on representative
    /// categories, against one node over TLS. What each cell answers, and whether a denial shows in the patient's audit
    /// trail, is data here: a handler that answers otherwise fails its cell.
    @Suite("Authorization matrix")
    struct AuthorizationMatrix {
        /// Who calls. Transaction RPCs are authenticated by the signature, private reads by a session token.
        enum Caller: String, CaseIterable, Sendable {
            case patient, reader, writer, auditor, delegate, revoked, expired, otherCategory, stranger, clinician
            case researcher, unauthenticated, wrongKey, retiredKey, replayer

            /// The column heading in docs/AUTHORIZATION.md.
            var heading: String {
                switch self {
                case .patient: "patient"
                case .reader: "READ grantee"
                case .writer: "WRITE grantee"
                case .auditor: "AUDIT_READ grantee"
                case .delegate: "delegate"
                case .revoked: "revoked grantee"
                case .expired: "expired grantee"
                case .otherCategory: "imaging grantee"
                case .stranger: "stranger"
                case .clinician: "emergency clinician"
                case .researcher: "researcher"
                case .unauthenticated: "unauthenticated"
                case .wrongKey: "wrong-key signer"
                case .retiredKey: "retired-key signer"
                case .replayer: "replayer"
                }
            }

            /// Whether the caller acts as a registered principal of its own, with its own key and session.
            var isRegistered: Bool {
                Caller.allCases.firstIndex(of: self)! < Caller.allCases.firstIndex(of: .unauthenticated)!
            }
        }

        /// The categories the data rows are checked on: an ordinary one, a sensitive one, and an emergency one.
        enum Category: String, CaseIterable, Hashable, Sendable {
            case labs, mentalHealth = "mental health", medications

            var wire: Healthledger_V1_DataCategory {
                switch self {
                case .labs: .labs
                case .mentalHealth: .mentalHealth
                case .medications: .medications
                }
            }
        }

        /// One RPC as the callers try it (what each does is in docs/AUTHORIZATION.md).
        enum Row: Hashable, Sendable, CustomStringConvertible {
            case createSessionChallenge, createSession, deleteSession, grant, revoke, write(Category), query(Category)
            case auditStream, erase, openEmergencyAccess, listGrants, getPrincipal, getChainHead, getBlocks
            case getCheckpoint, getInclusionProof, getConsistencyProof, researchFeed, exportFhirBundle
            case proposeGrantsFromConsent, rotateKey

            var description: String {
                switch self {
                case .createSessionChallenge: "CreateSessionChallenge"
                case .createSession: "CreateSession"
                case .deleteSession: "DeleteSession"
                case .grant: "Grant"
                case .revoke: "Revoke"
                case .write(let category): "Write (\(category.rawValue))"
                case .query(let category): "Query (\(category.rawValue))"
                case .auditStream: "AuditStream"
                case .erase: "Erase"
                case .openEmergencyAccess: "OpenEmergencyAccess"
                case .listGrants: "ListGrants"
                case .getPrincipal: "GetPrincipal"
                case .getChainHead: "GetChainHead"
                case .getBlocks: "GetBlocks"
                case .getCheckpoint: "GetCheckpoint"
                case .getInclusionProof: "GetInclusionProof"
                case .getConsistencyProof: "GetConsistencyProof"
                case .researchFeed: "ResearchFeed"
                case .exportFhirBundle: "ExportFhirBundle"
                case .proposeGrantsFromConsent: "ProposeGrantsFromConsent"
                case .rotateKey: "RotateKey"
                }
            }
        }

        /// What an allowed call showed the caller.
        enum Shown: String, Sendable {
            case done = "OK"
            case records = "OK·records"
            case everything = "OK·all"
            case ownOnly = "OK·own"
            case nothing = "OK·none"
            case withSequence = "OK·self"
            case keysOnly = "OK·keys"
        }

        /// A cell: allowed (and what was shown), or refused with a status and whether the patient's trail got a
        /// DENIED event for it.
        enum Outcome: Hashable, Sendable, CustomStringConvertible {
            case allowed(Shown)
            case refused(RPCError.Code, audited: Bool)

            var description: String {
                switch self {
                case .allowed(let shown): shown.rawValue
                case .refused(let code, let audited): audited ? "\(code)·audited" : "\(code)"
                }
            }

            var isRefused: Bool { if case .refused = self { true } else { false } }
        }

        static let ok = Outcome.allowed(.done)
        static let records = Outcome.allowed(.records)
        static let all = Outcome.allowed(.everything)
        static let own = Outcome.allowed(.ownOnly)
        static let none = Outcome.allowed(.nothing)
        static let withSequence = Outcome.allowed(.withSequence)
        static let keysOnly = Outcome.allowed(.keysOnly)
        static let denied = Outcome.refused(.permissionDenied, audited: true)
        /// PERMISSION_DENIED for a request that names no patient (ResearchFeed): there is no trail to log it in.
        static let notOpen = Outcome.refused(.permissionDenied, audited: false)
        /// No session, or a signature that proves no key of the author: nobody is identified whose act could be
        /// logged, and logging the claimed author would let anyone write events in anyone's name.
        static let unauthenticated = Outcome.refused(.unauthenticated, audited: false)
        /// The exact transaction is already on the chain: a retry, which changes and releases nothing.
        static let replayed = Outcome.refused(.alreadyExists, audited: false)
        /// Signed with the patient's retired key: the signature proves the sender holds it, and a retired key in use
        /// may be a stolen one, so the attempt is logged in the patient's trail.
        static let retired = Outcome.refused(.failedPrecondition, audited: true)
        /// Erase only ever concerns the author's own records: another patient's record id is answered exactly
        /// like an unknown one, and logging it in the owner's trail would tell the caller (who sees its own
        /// actions there) whose record the id is.
        static let notFound = Outcome.refused(.notFound, audited: false)
        /// The patient breaking the glass on their own data: malformed, not an access.
        static let invalid = Outcome.refused(.invalidArgument, audited: false)

        /// The matrix. Columns in `Caller.allCases` order: patient, READ, WRITE, AUDIT_READ, delegate, revoked, expired,
        /// imaging, stranger, emergency clinician, researcher; then, on the second line of each row, unauthenticated,
        /// wrong key, retired key, replayer. Rows run top to bottom; RotateKey last, as the patient's own rotation
        /// retires the key the others use.
        // swift-format-ignore: one line of cells per caller group reads as the table it is.
        static let table: [(row: Row, cells: [Outcome])] = [
            (
                .createSessionChallenge,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .createSession,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    unauthenticated, unauthenticated, retired, unauthenticated,
                ]
            ),
            (
                .deleteSession,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .grant,
                [
                    ok, denied, denied, denied, ok, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .revoke,
                [
                    ok, denied, denied, denied, ok, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .write(.labs),
                [
                    ok, denied, ok, denied, denied, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .write(.mentalHealth),
                [
                    ok, denied, ok, denied, denied, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .write(.medications),
                [
                    ok, denied, ok, denied, denied, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .query(.labs),
                [
                    records, records, denied, denied, denied, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .query(.mentalHealth),
                [
                    records, records, denied, denied, denied, denied, denied, denied, denied, denied,
                    denied, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .query(.medications),
                [
                    records, records, denied, denied, denied, denied, denied, denied, denied, records,
                    denied, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .auditStream,
                [
                    all, own, own, all, own, own, own, own, own, own, own,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .erase,
                [
                    ok, notFound, notFound, notFound, notFound, notFound, notFound, notFound, notFound, notFound,
                    notFound, unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .openEmergencyAccess,
                [
                    invalid, denied, denied, denied, denied, denied, denied, denied, denied, ok, denied,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
            (
                .listGrants,
                [
                    all, own, own, all, own, own, own, own, none, none, own,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .getPrincipal,
                [
                    withSequence, keysOnly, keysOnly, keysOnly, keysOnly, keysOnly, keysOnly, keysOnly,
                    keysOnly, keysOnly, keysOnly, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .getChainHead,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .getBlocks,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .getCheckpoint,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .getInclusionProof,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .getConsistencyProof,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    ok, ok, ok, ok,
                ]
            ),
            (
                .researchFeed,
                [
                    notOpen, notOpen, notOpen, notOpen, notOpen, notOpen, notOpen, notOpen, notOpen, notOpen,
                    ok, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .exportFhirBundle,
                [
                    all, denied, denied, denied, denied, denied, denied, denied, denied, denied, denied,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .proposeGrantsFromConsent,
                [
                    ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                ]
            ),
            (
                .rotateKey,
                [
                    ok, unauthenticated, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                    unauthenticated, unauthenticated, unauthenticated, unauthenticated, unauthenticated,
                    unauthenticated, unauthenticated, retired, replayed,
                ]
            ),
        ]

        static let beginMarker = "<!-- authorization-matrix:begin -->"
        static let endMarker = "<!-- authorization-matrix:end -->"

        /// The table as docs/AUTHORIZATION.md shows it.
        static func markdown(_ table: [(row: Row, cells: [Outcome])]) -> String {
            var lines = ["| RPC | " + Caller.allCases.map(\.heading).joined(separator: " | ") + " |"]
            lines.append("|---" + String(repeating: "|---", count: Caller.allCases.count) + "|")
            for (row, cells) in table {
                lines.append("| \(row) | " + cells.map(\.description).joined(separator: " | ") + " |")
            }
            return lines.joined(separator: "\n")
        }

        static var documentPath: String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/AUTHORIZATION.md").path
        }

        @Test(
            "docs/AUTHORIZATION.md shows exactly the matrix this suite checks (HEALTHLEDGER_UPDATE_DOCS=1 rewrites it)")
        func documentMatchesTheTable() throws {
            let document = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
            let begin = try #require(document.range(of: Self.beginMarker), "no \(Self.beginMarker) in the document")
            let end = try #require(document.range(of: Self.endMarker), "no \(Self.endMarker) in the document")
            let shown = document[begin.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            let rendered = Self.markdown(Self.table)
            if ProcessInfo.processInfo.environment["HEALTHLEDGER_UPDATE_DOCS"] == "1" && shown != rendered {
                let updated = document.replacingCharacters(
                    in: begin.upperBound..<end.lowerBound, with: "\n" + rendered + "\n")
                try updated.write(toFile: Self.documentPath, atomically: true, encoding: .utf8)
                return
            }
            #expect(
                shown == rendered,
                "docs/AUTHORIZATION.md disagrees with the matrix; run with HEALTHLEDGER_UPDATE_DOCS=1")
        }

        @Test(
            "every RPC, called by every kind of caller, answers as the matrix says, and every audited denial is in the patient's trail"
        )
        func everyCellAnswersAsTheMatrixSays() async throws {
            try #require(Self.table.allSatisfy { $0.cells.count == Caller.allCases.count })
            let clock = ManualClock(wallClock())
            let clinician = LedgerIdentity.generate()
            let researcher = LedgerIdentity.generate()
            try await withLedgerNode(configure: {
                $0.clock = { clock.now }
                $0.rules.emergencyClinicians = [clinician.id]
                $0.researchers = [researcher.id]
                // The matrix makes hundreds of calls a second from one address; rate limits have their own tests.
                $0.rateLimits = .unlimited
            }) { node in
                var matrix = try await Matrix(on: node, clock: clock, clinician: clinician, researcher: researcher)
                var checked = 0
                var auditedRefusals: [UInt64] = []
                for (row, cells) in Self.table {
                    for (caller, expected) in zip(Caller.allCases, cells) {
                        let (observed, deniedEvents) = try await matrix.observe(row, by: caller)
                        checked += 1
                        #expect(
                            observed == expected,
                            "\(row) by \(caller.heading): \(observed), the matrix says \(expected)")
                        guard case .refused(_, audited: true) = observed else { continue }
                        if caller.isRegistered {
                            let actor = try matrix.participant(caller).id
                            #expect(
                                deniedEvents.map(\.actor) == [actor],
                                "\(row) by \(caller.heading): DENIED events \(deniedEvents.map(\.actor)), expected one by the caller"
                            )
                        }
                        auditedRefusals += deniedEvents.map(\.sequence)
                    }
                }
                let refusals = Self.table.flatMap { $0.cells }.filter(\.isRefused).count
                // Read back as the patient, with every event's inclusion proof checked by the client.
                let trail = Set(
                    try await matrix.patient.auditTrail(of: matrix.patient.id).filter { $0.outcome == .denied }.map(
                        \.sequence))
                let found = auditedRefusals.filter { trail.contains($0) }
                #expect(found.count == auditedRefusals.count, "audited denials missing from the patient's trail")
                print(
                    "authorization matrix: \(checked) cells checked, \(refusals) denied, \(found.count) denied cells found in the patient's audit trail (\(refusals - found.count) not audited by design)"
                )
            }
        }
    }
}

extension LedgerSecurityTests.AuthorizationMatrix {
    /// The cast of the matrix on one node, and what the cells of a row share (a transaction to replay).
    struct Matrix {
        typealias Participant = LedgerSecurityTests.Participant
        let node: LedgerTestNode
        /// The patient, with its current key (replaced when the RotateKey row rotates it).
        var patient: Participant
        /// The patient's first key, retired by a rotation, with a session it opened before.
        let formerPatient: Participant
        let formerSession: CallOptions
        /// A session of the patient that the patient deleted.
        let deletedSession: CallOptions
        /// A CreateSession request that was already redeemed.
        let redeemedSessionRequest: Healthledger_V1_CreateSessionRequest
        let principals: [Caller: Participant]
        /// Who the grants of the Grant and Revoke rows name.
        let accomplice: Participant
        let delegation: String
        /// The patient's record the Erase row erases.
        let erasable: String
        /// A tree size the node checkpointed.
        let checkpointedSize: UInt64
        /// The first transaction a row committed, which the replayer sends again.
        var committed: [Row: Healthledger_V1_SignedTransaction] = [:]
        /// Where the patient's trail is read from after the next cell.
        var nextAuditSequence: UInt64 = 0

        init(
            on node: LedgerTestNode, clock: LedgerSecurityTests.ManualClock, clinician: LedgerIdentity,
            researcher: LedgerIdentity
        ) async throws {
            self.node = node
            let former = try Participant(on: node)
            for category in Category.allCases {
                _ = try await former.client.write(
                    patient: former.id, category: category.wire, content: Array("\(category) result".utf8),
                    mediaType: "text/plain")
            }
            erasable = try await former.client.write(
                patient: former.id, category: .vitals, content: Array("pulse 72".utf8), mediaType: "text/plain"
            ).recordId
            formerSession = try await former.client.authenticated()
            let currentKey = SigningPrivateKey.generate(.ed25519)
            _ = try await former.submitRotateKey(
                try await former.signed(LedgerSecurityTests.KeyRotation.rotation(of: former.identity, to: currentKey)))
            formerPatient = former
            let patient = try Participant(
                LedgerIdentity(principalID: former.identity.principalID, key: currentKey), on: node)
            self.patient = patient

            var principals: [Caller: Participant] = [.patient: patient]
            for caller in Caller.allCases where caller.isRegistered && caller != .patient {
                let identity = caller == .clinician ? clinician : caller == .researcher ? researcher : .generate()
                principals[caller] = try Participant(identity, on: node)
            }
            principals[.wrongKey] = try Participant(on: node)
            accomplice = try Participant(on: node)
            // Every caller is on the ledger (a record of their own), so "stranger" means known but without a grant.
            for (_, participant) in principals where participant.id != patient.id {
                _ = try await participant.client.write(
                    patient: participant.id, category: .vitals, content: Array("own".utf8), mediaType: "text/plain")
            }
            self.principals = principals

            let categories = Category.allCases.map(\.wire)
            let cast = principals
            func grant(
                _ caller: Caller, _ actions: [Healthledger_V1_Action], _ categories: [Healthledger_V1_DataCategory],
                purposes: [Healthledger_V1_Purpose] = [.treatment], until: Int64? = nil
            ) async throws -> String {
                try await patient.client.grant(
                    .permit(
                        to: cast[caller]!.id, actions: actions, categories: categories, purposes: purposes, until: until
                    )
                ).grantId
            }
            _ = try await grant(.reader, [.read], categories)
            _ = try await grant(.writer, [.write], categories)
            _ = try await grant(.auditor, [.auditRead], [.all], purposes: [.operations])
            delegation = try await grant(.delegate, [.delegate], categories)
            for grantID in [
                try await grant(.revoked, [.read, .write], categories),
                try await grant(.revoked, [.auditRead], [.all], purposes: [.operations]),
            ] {
                _ = try await patient.client.revoke(grantID: grantID)
            }
            let ending = clock.now + 60_000
            _ = try await grant(.expired, [.read, .write], categories, until: ending)
            _ = try await grant(.expired, [.auditRead], [.all], purposes: [.operations], until: ending)
            _ = try await grant(.otherCategory, [.read, .write], [.imaging])
            _ = try await grant(.researcher, [.auditRead], [.all], purposes: [.research])
            _ = try await principals[.clinician]!.client.openEmergencyAccess(
                patient: patient.id, categories: [.medications], reason: "unconscious on arrival")
            clock.set(ending + 60_000)

            let logout = try node.client(patient.identity)
            deletedSession = try await logout.authenticated()
            _ = try await logout.stub.deleteSession(Healthledger_V1_DeleteSessionRequest(), options: deletedSession)
            let sessions = LedgerSecurityTests.Sessions()
            redeemedSessionRequest = try await sessions.signedSessionRequest(
                for: patient.identity, stub: patient.client.stub)
            _ = try await patient.client.stub.createSession(redeemedSessionRequest)
            checkpointedSize = try await patient.client.stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
                .treeSize
            nextAuditSequence = try await auditSince(0).head + 1
        }

        func participant(_ caller: Caller) throws -> Participant {
            try #require(principals[caller], "\(caller) acts as no principal of its own")
        }

        /// The patient's events from `start` on (0: none, only the head), as the patient reads them.
        func auditSince(_ start: UInt64) async throws -> (events: [Healthledger_V1_AuditEvent], head: UInt64) {
            var request = Healthledger_V1_AuditStreamRequest()
            request.patient = patient.id
            request.startSequence = start
            var events: [Healthledger_V1_AuditEvent] = []
            var head: UInt64 = 0
            let options = try await patient.client.authenticated()
            for try await message in try await patient.client.stub.auditStream(request, options: options) {
                switch message.item {
                case .event(let logged)?: if let event = logged.event { events.append(event) }
                case .replayCompleted(let completed)?: head = completed.headSequence
                case nil: break
                }
            }
            return (events, head)
        }

        /// Runs one cell; returns its outcome (a refusal counts as audited when the patient's trail gained a DENIED
        /// event meanwhile) and those DENIED events.
        mutating func observe(_ row: Row, by caller: Caller) async throws -> (Outcome, [Healthledger_V1_AuditEvent]) {
            let result: Result<Shown, RPCError>
            do {
                result = .success(try await perform(row, by: caller))
            } catch let error as RPCError {
                result = .failure(error)
            }
            let (events, head) = try await auditSince(nextAuditSequence)
            nextAuditSequence = head + 1
            let denials = events.filter { $0.outcome == .denied }
            switch result {
            case .success(let shown): return (.allowed(shown), denials)
            case .failure(let error): return (.refused(error.code, audited: !denials.isEmpty), denials)
            }
        }

        /// The call options a caller's private reads carry: its session; for the unauthenticated caller none;
        /// for the wrong-key signer none, after its attempt to open a session as the patient was refused.
        func sessions(of caller: Caller) async throws -> [CallOptions] {
            switch caller {
            case .unauthenticated:
                var forged = CallOptions()
                forged.metadata.add("Bearer hl_" + String(repeating: "A", count: 43), forKey: "authorization")
                return [CallOptions(), forged]
            case .wrongKey:
                let impostor = try node.client(impersonation(of: patient))
                await LedgerSecurityTests.expectStatus(.unauthenticated, "a session as the patient with another key") {
                    try await impostor.sessionToken()
                }
                return [CallOptions()]
            case .retiredKey: return [formerSession]
            case .replayer: return [deletedSession]
            default: return [try await participant(caller).client.authenticated()]
            }
        }

        /// The patient's (or `authority`'s) principal id with the wrong-key signer's key.
        func impersonation(of authority: Participant) throws -> LedgerIdentity {
            LedgerIdentity(principalID: authority.identity.principalID, key: try participant(.wrongKey).identity.key)
        }

        /// A private read, made with each of the caller's session options: all must answer alike.
        func privateRead(by caller: Caller, _ read: (CallOptions) async throws -> Shown) async throws -> Shown {
            var answers: [Result<Shown, RPCError>] = []
            for options in try await sessions(of: caller) {
                do { answers.append(.success(try await read(options))) } catch let error as RPCError {
                    answers.append(.failure(error))
                }
            }
            let described = answers.map { answer in
                switch answer {
                case .success(let shown): shown.rawValue
                case .failure(let error): "\(error.code)"
                }
            }
            #expect(
                Set(described).count == 1, "\(caller.heading): its credentials are answered differently: \(described)")
            return try answers[0].get()
        }

        /// The operation `author` signs in a transaction row.
        func operation(_ row: Row, author: Caller) async throws -> Healthledger_V1_TransactionBody.Operation {
            let underDelegation = author == .delegate ? delegation : nil
            switch row {
            case .grant:
                return .grant(
                    .permit(to: accomplice.id, actions: [.read], categories: [.labs]).about(
                        patient.id, under: underDelegation))
            case .revoke:
                // A fresh grant of the patient's for every attempt, so that one caller's revoke leaves the next a target.
                let target = try await patient.submitGrant(
                    try await patient.signed(
                        .grant(.permit(to: accomplice.id, actions: [.read], categories: [.labs]).about(patient.id))))
                var revoke = Healthledger_V1_Revoke()
                revoke.grantId = target.grantId
                revoke.delegationGrantId = underDelegation
                return .revoke(revoke)
            case .write(let category):
                return .writeRecord(.describing(Self.content(category), of: patient.id, category: category.wire))
            case .erase:
                var list = Healthledger_V1_RecordIdList()
                list.recordIds = [erasable]
                var erasure = Healthledger_V1_ErasureRequest()
                erasure.scope = .records(list)
                return .erasureRequest(erasure)
            case .openEmergencyAccess:
                var access = Healthledger_V1_EmergencyAccess()
                access.patient = patient.id
                access.categories = [.medications]
                access.reason = "unconscious on arrival"
                access.durationMs = 3_600_000
                return .emergencyAccess(access)
            case .rotateKey:
                return LedgerSecurityTests.KeyRotation.rotation(of: patient.identity, to: .generate(.ed25519))
            default:
                preconditionFailure("\(row) is not a transaction row")
            }
        }

        static func content(_ category: Category) -> [UInt8] { Array("matrix \(category.rawValue) result".utf8) }

        /// The transaction the caller sends in a transaction row: its own, signed with its own key; for the others,
        /// the one whose author could do it (the patient; the clinician for an emergency access) spoiled their way.
        func transaction(_ row: Row, by caller: Caller) async throws -> Healthledger_V1_SignedTransaction {
            let authority = row == .openEmergencyAccess ? try participant(.clinician) : patient
            let authorityRole: Caller = row == .openEmergencyAccess ? .clinician : .patient
            switch caller {
            case .unauthenticated:
                var signed = try await authority.signed(try await operation(row, author: authorityRole))
                signed.signature = [UInt8](repeating: 0, count: signed.signature.count)
                return signed
            case .wrongKey:
                // The operation first: the Revoke row's commits the grant it revokes, which takes a sequence number.
                let operation = try await operation(row, author: authorityRole)
                let sequence = try #require(try await authority.nextSequence())
                return TransactionSigner(
                    identity: try impersonation(of: authority), chainID: LedgerSecurityTests.testChainID
                ).sign(
                    operation, sequence: sequence, createdAt: LedgerSecurityTests.wallClock(), attachPublicKey: false)
            case .retiredKey:
                let operation = try await operation(row, author: .patient)
                let sequence = try #require(try await patient.nextSequence())
                return TransactionSigner(identity: formerPatient.identity, chainID: LedgerSecurityTests.testChainID)
                    .sign(
                        operation, sequence: sequence, createdAt: LedgerSecurityTests.wallClock(),
                        attachPublicKey: false)
            case .replayer:
                return try #require(committed[row], "\(row): no committed transaction to replay")
            default:
                return try await participant(caller).signed(try await operation(row, author: caller))
            }
        }

        /// Sends a row's transaction; remembers the first one committed, for the replayer.
        mutating func submit(_ row: Row, by caller: Caller) async throws -> Shown {
            let signed = try await transaction(row, by: caller)
            let stub = patient.client.stub
            switch row {
            case .grant:
                var request = Healthledger_V1_GrantRequest()
                request.transaction = signed
                _ = try await stub.grant(request)
            case .revoke:
                var request = Healthledger_V1_RevokeRequest()
                request.transaction = signed
                _ = try await stub.revoke(request)
            case .write(let category):
                _ = try await stub.write(
                    LedgerSecurityTests.PreparedMessages([
                        .signedTransaction(signed), .contentChunk(Self.content(category), at: 0),
                    ]))
            case .erase:
                var request = Healthledger_V1_EraseRequest()
                request.transaction = signed
                _ = try await stub.erase(request)
            case .openEmergencyAccess:
                var request = Healthledger_V1_OpenEmergencyAccessRequest()
                request.transaction = signed
                _ = try await stub.openEmergencyAccess(request)
            case .rotateKey:
                var request = Healthledger_V1_RotateKeyRequest()
                request.transaction = signed
                _ = try await stub.rotateKey(request)
            default:
                preconditionFailure("\(row) is not a transaction row")
            }
            if committed[row] == nil { committed[row] = signed }
            return .done
        }

        /// One cell's call; what an allowed call showed, or the RPCError it failed with.
        mutating func perform(_ row: Row, by caller: Caller) async throws -> Shown {
            let stub = patient.client.stub
            let patientID = patient.id
            switch row {
            case .grant, .revoke, .write, .erase, .openEmergencyAccess:
                return try await submit(row, by: caller)
            case .rotateKey:
                guard caller == .patient else { return try await submit(row, by: caller) }
                // The patient's own rotation: the matrix goes on with the new key.
                let newKey = SigningPrivateKey.generate(.ed25519)
                let signed = try await patient.signed(
                    LedgerSecurityTests.KeyRotation.rotation(of: patient.identity, to: newKey))
                _ = try await patient.submitRotateKey(signed)
                committed[row] = signed
                patient = try Participant(
                    LedgerIdentity(principalID: patient.identity.principalID, key: newKey), on: node)
                return .done
            case .createSessionChallenge:
                var request = Healthledger_V1_CreateSessionChallengeRequest()
                let identity: LedgerIdentity
                switch caller {
                case .unauthenticated: identity = .generate()
                case .wrongKey: identity = try impersonation(of: patient)
                case .retiredKey: identity = formerPatient.identity
                case .replayer: identity = patient.identity
                default: identity = try participant(caller).identity
                }
                request.principalId = identity.id
                request.keyId = identity.key.publicKey.keyID
                _ = try await stub.createSessionChallenge(request)
                return .done
            case .createSession:
                switch caller {
                case .unauthenticated:
                    var request = try await LedgerSecurityTests.Sessions().signedSessionRequest(
                        for: patient.identity, stub: stub)
                    request.signature = [UInt8](repeating: 0, count: request.signature.count)
                    _ = try await stub.createSession(request)
                case .wrongKey: _ = try await node.client(try impersonation(of: patient)).sessionToken()
                case .retiredKey: _ = try await node.client(formerPatient.identity).sessionToken()
                case .replayer: _ = try await stub.createSession(redeemedSessionRequest)
                default: _ = try await node.client(try participant(caller).identity).sessionToken()
                }
                return .done
            case .deleteSession:
                // A session of its own, so the caller's other cells keep theirs.
                let sessions: [CallOptions] =
                    caller.isRegistered
                    ? [try await node.client(try participant(caller).identity).authenticated()]
                    : try await self.sessions(of: caller)
                var answer: Shown?
                for options in sessions {
                    _ = try await stub.deleteSession(Healthledger_V1_DeleteSessionRequest(), options: options)
                    answer = .done
                }
                return try #require(answer)
            case .query(let category):
                let purpose: Healthledger_V1_Purpose =
                    caller == .patient ? .patientRequest : caller == .clinician ? .emergency : .treatment
                return try await privateRead(by: caller) { options in
                    let messages = try await LedgerSecurityTests.drain(
                        try await stub.query(.of(patientID, [category.wire], purpose: purpose), options: options))
                    let records = messages.compactMap { if case .record(let record)? = $0.part { record } else { nil } }
                    #expect(!records.isEmpty && records.allSatisfy { $0.metadata?.category == category.wire })
                    #expect(messages.contains { if case .chunk? = $0.part { true } else { false } })
                    return .records
                }
            case .auditStream:
                let reader = caller.isRegistered ? try participant(caller).id : ""
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_AuditStreamRequest()
                    request.patient = patientID
                    request.startSequence = 1
                    let messages = try await LedgerSecurityTests.drain(
                        try await stub.auditStream(request, options: options))
                    let actors = messages.compactMap {
                        if case .event(let logged)? = $0.item { logged.event?.actor } else { nil }
                    }
                    return actors.allSatisfy { $0 == reader } ? .ownOnly : .everything
                }
            case .listGrants:
                let reader = caller.isRegistered ? try participant(caller).id : ""
                let patientsView = Set(try await patient.listedGrants(of: patient.id).map(\.grantId))
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_ListGrantsRequest()
                    request.patient = patientID
                    request.includeInactive = true
                    request.pageSize = 1_000
                    let grants = try await stub.listGrants(request, options: options).grants
                    if grants.isEmpty { return .nothing }
                    if Set(grants.map(\.grantId)) == patientsView { return .everything }
                    #expect(grants.allSatisfy { $0.grant?.grantee == reader || $0.author == reader })
                    return .ownOnly
                }
            case .getPrincipal:
                let currentKey = patient.identity.key.publicKey.keyID
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_GetPrincipalRequest()
                    request.principalId = patientID
                    let principal = try #require(try await stub.getPrincipal(request, options: options).principal)
                    #expect(principal.currentKeyId == currentKey)
                    return (principal.nextSequence ?? 0) > 0 ? .withSequence : .keysOnly
                }
            case .researchFeed:
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_ResearchFeedRequest()
                    request.startSequence = 1
                    let messages = try await LedgerSecurityTests.drain(
                        try await stub.researchFeed(request, options: options))
                    let events = messages.compactMap { if case .event(let event)? = $0.item { event } else { nil } }
                    #expect(!events.isEmpty && events.allSatisfy { $0.patientPseudonym.hasPrefix("ps-") })
                    return .done
                }
            case .exportFhirBundle:
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_ExportFhirBundleRequest()
                    request.patient = patientID
                    let messages = try await LedgerSecurityTests.drain(
                        try await stub.exportFhirBundle(request, options: options))
                    let text = messages.flatMap { message -> [UInt8] in
                        if case .bundleChunk(let chunk)? = message.part { chunk } else { [] }
                    }
                    #expect(text.starts(with: Array(#"{"resourceType":"Bundle""#.utf8)))
                    return .everything
                }
            case .proposeGrantsFromConsent:
                // Only translates: every principal in a session gets the same grants back, whatever the ledger lets
                // it do, and nothing is committed or audited.
                let grant = Healthledger_V1_Grant.permit(to: accomplice.id, actions: [.read], categories: [.labs])
                    .about(patientID)
                var record = Healthledger_V1_GrantRecord()
                record.grant = grant
                let consent = ConsentMapping.consent(for: record, now: 0).serialized()
                return try await privateRead(by: caller) { options in
                    var request = Healthledger_V1_ProposeGrantsFromConsentRequest()
                    request.consentJson = consent
                    let proposed = try await stub.proposeGrantsFromConsent(request, options: options).grants
                    #expect(proposed == [grant])
                    return .done
                }
            case .getChainHead, .getBlocks, .getCheckpoint, .getInclusionProof, .getConsistencyProof:
                // Public: whatever credentials come along are not looked at.
                let checkpointedSize = self.checkpointedSize
                return try await privateRead(by: caller) { options in
                    switch row {
                    case .getChainHead:
                        _ = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest(), options: options)
                    case .getBlocks:
                        var request = Healthledger_V1_GetBlocksRequest()
                        request.startHeight = 1
                        request.endHeight = 2
                        #expect(
                            try await LedgerSecurityTests.drain(try await stub.getBlocks(request, options: options))
                                .count == 1)
                    case .getCheckpoint:
                        var request = Healthledger_V1_GetCheckpointRequest()
                        request.treeSize = checkpointedSize
                        _ = try await stub.getCheckpoint(request, options: options)
                    case .getInclusionProof:
                        var request = Healthledger_V1_GetInclusionProofRequest()
                        request.leafIndex = 0
                        _ = try await stub.getInclusionProof(request, options: options)
                    default:
                        var request = Healthledger_V1_GetConsistencyProofRequest()
                        request.firstTreeSize = checkpointedSize
                        _ = try await stub.getConsistencyProof(request, options: options)
                    }
                    return .done
                }
            }
        }
    }
}
