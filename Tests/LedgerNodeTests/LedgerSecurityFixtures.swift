import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerNode
import RPCCore
import Synchronization
import Testing

extension LedgerSecurityTests {
    /// The chain id every `LedgerTestNode` serves.
    static let testChainID = "test-chain"

    /// Wall-clock milliseconds since the Unix epoch, as clients sign them.
    static func wallClock() -> Int64 { LedgerClient<HTTP2ClientTransport>.now() }

    /// Starts a node, runs `story` against it and stops the node, also when the story throws.
    static func withLedgerNode(
        configure: (inout LedgerNodeConfiguration) -> Void = { _ in }, _ story: (LedgerTestNode) async throws -> Void
    ) async throws {
        let node = try await LedgerTestNode(configure: configure)
        do {
            try await story(node)
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }

    /// A node clock the test moves by hand (`LedgerNodeConfiguration.clock`).
    final class ManualClock: Sendable {
        private let milliseconds: Mutex<Int64>

        /// A clock standing at `start`.
        init(_ start: Int64) { milliseconds = Mutex(start) }

        /// The time it shows.
        var now: Int64 { milliseconds.withLock { $0 } }

        /// Moves the clock to `time`.
        func set(_ time: Int64) { milliseconds.withLock { $0 = time } }
    }

    /// One principal of a story: who it is and a client acting as it over the node's TLS transport.
    struct Participant: Sendable {
        let identity: LedgerIdentity
        let client: LedgerClient<HTTP2ClientTransport>

        /// A principal with a fresh key (or `identity`), talking to `node`.
        init(_ identity: LedgerIdentity = .generate(), on node: LedgerTestNode) throws {
            self.identity = identity
            client = try node.client(identity)
        }

        /// A patient already on the ledger: they wrote their own lab result, whose record id and content are returned.
        static func patientWithLabResult(on node: LedgerTestNode) async throws -> (
            Participant, record: String, content: String
        ) {
            let patient = try Participant(on: node)
            let content = "potassium 4.1 mmol/L"
            let written = try await patient.client.write(
                patient: patient.id, category: .labs, content: Array(content.utf8), mediaType: "text/plain")
            return (patient, written.recordId, content)
        }

        /// The principal id.
        var id: String { identity.id }

        /// The sequence number the node expects next from this principal (GetPrincipal.next_sequence); nil while the
        /// ledger holds no transaction of theirs.
        func nextSequence() async throws -> UInt64? {
            var request = Healthledger_V1_GetPrincipalRequest()
            request.principalId = id
            do {
                let response = try await client.stub.getPrincipal(request, options: try await client.authenticated())
                return response.principal?.nextSequence
            } catch let error as RPCError where error.code == .notFound {
                return nil
            }
        }

        /// The principal as the ledger shows it to itself.
        func principalRecord() async throws -> Healthledger_V1_Principal? {
            var request = Healthledger_V1_GetPrincipalRequest()
            request.principalId = id
            return try await client.stub.getPrincipal(request, options: try await client.authenticated()).principal
        }

        /// `operation` signed by this principal with its next sequence unless `sequence` is given; the public key is
        /// attached when the ledger does not know the principal yet.
        func signed(
            _ operation: Healthledger_V1_TransactionBody.Operation, sequence: UInt64? = nil, createdAt: Int64? = nil,
            expiresAt: Int64? = nil, chainID: String = testChainID
        ) async throws -> Healthledger_V1_SignedTransaction {
            let next = try await nextSequence()
            return TransactionSigner(identity: identity, chainID: chainID).sign(
                operation, sequence: sequence ?? next ?? 1, createdAt: createdAt ?? wallClock(), expiresAt: expiresAt,
                attachPublicKey: next == nil)
        }

        /// Submits a signed Grant transaction as is.
        func submitGrant(_ transaction: Healthledger_V1_SignedTransaction) async throws -> Healthledger_V1_GrantResponse
        {
            var request = Healthledger_V1_GrantRequest()
            request.transaction = transaction
            return try await client.stub.grant(request)
        }

        /// Submits a signed Revoke transaction as is.
        func submitRevoke(_ transaction: Healthledger_V1_SignedTransaction) async throws
            -> Healthledger_V1_RevokeResponse
        {
            var request = Healthledger_V1_RevokeRequest()
            request.transaction = transaction
            return try await client.stub.revoke(request)
        }

        /// Submits a signed RotateKey transaction as is.
        func submitRotateKey(_ transaction: Healthledger_V1_SignedTransaction) async throws
            -> Healthledger_V1_RotateKeyResponse
        {
            var request = Healthledger_V1_RotateKeyRequest()
            request.transaction = transaction
            return try await client.stub.rotateKey(request)
        }

        /// Sends a Write call made of exactly `messages`.
        func submitWrite(_ messages: [Healthledger_V1_WriteRequest]) async throws -> Healthledger_V1_WriteResponse {
            try await client.stub.write(PreparedMessages(messages))
        }

        /// Grants this principal may see about `patient` (ListGrants, inactive ones included), oldest first.
        func listedGrants(of patient: String, to grantee: String = "") async throws -> [Healthledger_V1_GrantRecord] {
            var request = Healthledger_V1_ListGrantsRequest()
            request.patient = patient
            request.grantee = grantee
            request.includeInactive = true
            request.pageSize = 1_000
            return try await client.stub.listGrants(request, options: try await client.authenticated()).grants
        }

        /// The patient's audit trail so far as this principal may see it (AuditStream from sequence 1, no follow).
        func auditTrail(of patient: String) async throws -> [Healthledger_V1_AuditEvent] {
            var request = Healthledger_V1_AuditStreamRequest()
            request.patient = patient
            request.startSequence = 1
            request.follow = false
            var events: [Healthledger_V1_AuditEvent] = []
            for try await message in try await client.auditStream(request) {
                if case .event(let logged)? = message.item, let event = logged.event { events.append(event) }
            }
            return events
        }

        /// Whether a query of `patient`'s `categories` for `purpose` is allowed now; records an issue for any error other
        /// than PERMISSION_DENIED.
        func mayRead(
            _ patient: String, _ categories: [Healthledger_V1_DataCategory],
            purpose: Healthledger_V1_Purpose = .treatment,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async -> Bool {
            do {
                _ = try await client.query(.of(patient, categories, purpose: purpose, includeContent: false))
                return true
            } catch let error as RPCError where error.code == .permissionDenied {
                return false
            } catch {
                Issue.record(
                    "query failed with \(error), expected allowed or PERMISSION_DENIED", sourceLocation: sourceLocation)
                return false
            }
        }
    }

    /// Runs `body`, expecting it to fail with the gRPC status `code`; records an issue otherwise. Returns the error, nil
    /// when there was none of the right type.
    @discardableResult
    static func expectStatus<T>(
        _ code: RPCError.Code, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async -> RPCError? {
        do {
            _ = try await body()
            Issue.record("\(what): succeeded, expected \(code)", sourceLocation: sourceLocation)
            return nil
        } catch let error as RPCError {
            #expect(error.code == code, "\(what): got \(error), expected \(code)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(what): \(error), expected an RPCError \(code)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Checks that an INVALID_ARGUMENT (or other) message starts with the path of the field that was wrong.
    static func expectNames(_ error: RPCError?, field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }
        #expect(
            error.message.hasPrefix(field + ":"), "message \"\(error.message)\" does not start with \"\(field):\"",
            sourceLocation: sourceLocation)
    }

    /// Checks that a refusal reveals nothing about the patient's records: no record id, content or content hash.
    static func expectRevealsNothing(
        _ error: RPCError?, records: [String], contents: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error else { return }
        for record in records {
            #expect(
                !error.message.contains(record), "the refusal names record \(record)", sourceLocation: sourceLocation)
        }
        for content in contents {
            #expect(
                !error.message.contains(content), "the refusal quotes record content", sourceLocation: sourceLocation)
            let hash = Hex.encode(SHA256.hash(Array(content.utf8)))
            #expect(!error.message.contains(hash), "the refusal names a content hash", sourceLocation: sourceLocation)
        }
    }

    /// Consumes a response stream to its end (so a status sent after the headers surfaces as an error).
    static func drain<Message: Sendable>(_ stream: ResponseStream<Message>) async throws -> [Message] {
        var messages: [Message] = []
        for try await message in stream { messages.append(message) }
        return messages
    }

    /// Files the node's record content store holds for `patient`, and leftover uploads of anyone.
    static func storedContentFiles(on node: LedgerTestNode, patient: String) -> (records: [String], temporary: [String])
    {
        let content = node.directory + "/data/content"
        let records = (try? FileManager.default.contentsOfDirectory(atPath: content + "/records/" + patient)) ?? []
        let temporary = (try? FileManager.default.contentsOfDirectory(atPath: content + "/tmp")) ?? []
        return (records, temporary)
    }

    /// A finite async sequence over messages already in memory, for hand-built client streams.
    struct PreparedMessages<Element: Sendable>: AsyncSequence, Sendable {
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
}

extension Healthledger_V1_Grant {
    /// This grant, about `patient`'s data (and, for a delegate, under the DELEGATE grant `delegation`).
    func about(_ patient: String, under delegation: String? = nil) -> Healthledger_V1_Grant {
        var grant = self
        grant.patient = patient
        grant.delegationGrantId = delegation
        return grant
    }

    /// A DENY grant of `actions` on `categories` for `purposes` to `grantee` ("*": everyone).
    static func refusal(
        to grantee: String, actions: [Healthledger_V1_Action], categories: [Healthledger_V1_DataCategory],
        purposes: [Healthledger_V1_Purpose]
    ) -> Healthledger_V1_Grant {
        var grant = Healthledger_V1_Grant()
        grant.grantee = grantee
        grant.actions = actions
        grant.categories = categories
        grant.purposes = purposes
        grant.effect = .deny
        return grant
    }
}

extension Healthledger_V1_WriteRequest {
    /// The first message of a Write call: the signed write_record transaction.
    static func signedTransaction(_ signed: Healthledger_V1_SignedTransaction) -> Healthledger_V1_WriteRequest {
        var message = Healthledger_V1_WriteRequest()
        message.part = .transaction(signed)
        return message
    }

    /// A content chunk message.
    static func contentChunk(_ data: [UInt8], at offset: Int) -> Healthledger_V1_WriteRequest {
        var chunk = Healthledger_V1_ContentChunk()
        chunk.data = data
        chunk.offsetBytes = UInt64(offset)
        var message = Healthledger_V1_WriteRequest()
        message.part = .chunk(chunk)
        return message
    }
}

extension Healthledger_V1_RecordMetadata {
    /// The metadata of a record of `patient` in `category` whose content is `content`.
    static func describing(
        _ content: [UInt8], of patient: String, category: Healthledger_V1_DataCategory,
        mediaType: String = "text/plain"
    ) -> Healthledger_V1_RecordMetadata {
        var metadata = Healthledger_V1_RecordMetadata()
        metadata.patient = patient
        metadata.category = category
        metadata.contentSha256 = SHA256.hash(content)
        metadata.sizeBytes = UInt64(content.count)
        metadata.mediaType = mediaType
        return metadata
    }
}
