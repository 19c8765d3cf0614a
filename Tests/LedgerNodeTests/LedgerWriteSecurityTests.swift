import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// Who may write, and uploads that do not match what was signed.
    @Suite("Writes")
    struct Writes {
        /// The patient's records as the patient reads them (ids, oldest first).
        static func recordIDs(of patient: Participant, _ categories: [Healthledger_V1_DataCategory]) async throws
            -> [String]
        {
            try await patient.client.query(.of(patient.id, categories, purpose: .patientRequest, includeContent: false))
                .records.map(\.record.recordId)
        }

        @Test(
            "a write without a grant is PERMISSION_DENIED before any content is accepted, audited as a denied WRITE, and nothing is committed or stored"
        )
        func writeWithoutAGrant() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let writer = try Participant(on: node)
                let forged = Array("potassium 9.9 mmol/L (forged)".utf8)
                let storedBefore = storedContentFiles(on: node, patient: patient.id)

                let error = await expectStatus(.permissionDenied, "a write without a grant") {
                    try await writer.client.write(
                        patient: patient.id, category: .labs, content: forged, mediaType: "text/plain")
                }
                expectRevealsNothing(error, records: [record], contents: ["potassium 4.1 mmol/L"])
                #expect(try await writer.nextSequence() == nil)
                #expect(try await Self.recordIDs(of: patient, [.labs]) == [record])
                let storedAfter = storedContentFiles(on: node, patient: patient.id)
                #expect(storedAfter.records.sorted() == storedBefore.records.sorted())
                #expect(!storedAfter.records.contains(Hex.encode(SHA256.hash(forged))))
                #expect(storedAfter.temporary.isEmpty)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == writer.id }
                #expect(trail.count == 1)
                #expect(trail.first?.action == .write)
                #expect(trail.first?.outcome == .denied)
                #expect(trail.first?.categories == [.labs])
            }
        }

        @Test("a writer with a WRITE grant for labs writes labs, and an imaging write is PERMISSION_DENIED and audited")
        func writeGrantCoversOnlyItsCategory() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let lab = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: lab.id, actions: [.write], categories: [.labs]))

                let written = try await lab.client.write(
                    patient: patient.id, category: .labs, content: Array("sodium 140 mmol/L".utf8),
                    mediaType: "text/plain")
                let sequence = try await lab.nextSequence()
                let error = await expectStatus(.permissionDenied, "an imaging write under a labs grant") {
                    try await lab.client.write(
                        patient: patient.id, category: .imaging, content: Array("CT chest".utf8),
                        mediaType: "text/plain")
                }
                expectRevealsNothing(error, records: [record, written.recordId], contents: ["sodium 140 mmol/L"])
                #expect(try await lab.nextSequence() == sequence)
                #expect(try await Self.recordIDs(of: patient, [.labs, .imaging]) == [record, written.recordId])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == lab.id }
                #expect(trail.map(\.action) == [.write])
                #expect(trail.map(\.outcome) == [.denied])
                #expect(trail.first?.categories == [.imaging])
            }
        }

        @Test("a record whose size_bytes is above the node's maximum is RESOURCE_EXHAUSTED")
        func sizeAboveTheNodesMaximum() async throws {
            try await withLedgerNode(configure: { $0.maxRecordBytes = 4_096 }) { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let content = [UInt8](repeating: 7, count: 4_097)
                let signed = try await patient.signed(
                    .writeRecord(.describing(content, of: patient.id, category: .imaging)))

                let error = await expectStatus(.resourceExhausted, "4,097 bytes on a 4,096-byte node") {
                    try await patient.submitWrite([.signedTransaction(signed), .contentChunk(content, at: 0)])
                }
                expectNames(error, field: "transaction.body.write_record.size_bytes")
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await Self.recordIDs(of: patient, [.all]) == [record])
                #expect(storedContentFiles(on: node, patient: patient.id).temporary.isEmpty)
            }
        }

        @Test("a chunk above 1 MiB is RESOURCE_EXHAUSTED and nothing is committed")
        func chunkAboveOneMiB() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let content = [UInt8](repeating: 0x5a, count: (1 << 20) + 1)
                let signed = try await patient.signed(
                    .writeRecord(
                        .describing(content, of: patient.id, category: .imaging, mediaType: "application/dicom")))

                let error = await expectStatus(.resourceExhausted, "a 1 MiB + 1 byte chunk") {
                    try await patient.submitWrite([.signedTransaction(signed), .contentChunk(content, at: 0)])
                }
                #expect(error?.message.contains("1 MiB") == true)
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await Self.recordIDs(of: patient, [.all]) == [record])
                let stored = storedContentFiles(on: node, patient: patient.id)
                #expect(!stored.records.contains(Hex.encode(SHA256.hash(content))))
                #expect(stored.temporary.isEmpty)
            }
        }

        /// A content upload that does not match its signed metadata.
        enum BadUpload: String, CaseIterable, Sendable, CustomTestStringConvertible {
            case hashMismatch, fewerBytes, moreBytes, wrongOffset, gapInOffsets, emptyChunk, secondTransaction

            var testDescription: String { rawValue }

            /// The field path the INVALID_ARGUMENT message starts with.
            var field: String {
                switch self {
                case .hashMismatch, .fewerBytes: "write"
                case .moreBytes: "write[3].chunk"
                case .wrongOffset: "write[1].chunk.offset_bytes"
                case .gapInOffsets: "write[2].chunk.offset_bytes"
                case .emptyChunk: "write[2].chunk.data"
                case .secondTransaction: "write[2]"
                }
            }
        }

        @Test(
            "an upload that does not match its signed metadata is INVALID_ARGUMENT and nothing is committed or kept",
            arguments: BadUpload.allCases)
        func uploadNotMatchingItsMetadata(_ flaw: BadUpload) async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let content = Array("glucose 5.4 mmol/L, HbA1c 38 mmol/mol".utf8)
                let first = Array(content[..<16])
                let rest = Array(content[16...])
                var metadata = Healthledger_V1_RecordMetadata.describing(content, of: patient.id, category: .labs)
                var chunks: [Healthledger_V1_WriteRequest] = [.contentChunk(first, at: 0), .contentChunk(rest, at: 16)]
                switch flaw {
                case .hashMismatch:
                    metadata.contentSha256 = SHA256.hash(Array("glucose 9.9 mmol/L, HbA1c 38 mmol/mol".utf8))
                case .fewerBytes:
                    chunks.removeLast()
                case .moreBytes:
                    chunks.append(.contentChunk([0x0a], at: content.count))
                case .wrongOffset:
                    chunks[0] = .contentChunk(first, at: 1)
                case .gapInOffsets:
                    chunks[1] = .contentChunk(rest, at: 17)
                case .emptyChunk:
                    chunks.insert(.contentChunk([], at: 16), at: 1)
                case .secondTransaction:
                    chunks.insert(.signedTransaction(try await patient.signed(.writeRecord(metadata))), at: 1)
                }
                let signed = try await patient.signed(.writeRecord(metadata))

                let error = await expectStatus(.invalidArgument, "\(flaw)") {
                    try await patient.submitWrite([.signedTransaction(signed)] + chunks)
                }
                expectNames(error, field: flaw.field)
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await Self.recordIDs(of: patient, [.all]) == [record])
                let stored = storedContentFiles(on: node, patient: patient.id)
                #expect(!stored.records.contains(Hex.encode(SHA256.hash(content))))
                #expect(stored.temporary.isEmpty)
            }
        }

        @Test("a chunk before the transaction is INVALID_ARGUMENT")
        func chunkBeforeTheTransaction() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let content = Array("a stray chunk".utf8)
                let signed = try await patient.signed(
                    .writeRecord(.describing(content, of: patient.id, category: .labs)))
                let error = await expectStatus(.invalidArgument, "a chunk first") {
                    try await patient.submitWrite([.contentChunk(content, at: 0), .signedTransaction(signed)])
                }
                expectNames(error, field: "write[0]")
                #expect(try await patient.nextSequence() == sequence)
            }
        }

        @Test(
            "a write whose WRITE grant is revoked while its content uploads is PERMISSION_DENIED, audited, and nothing is committed or kept"
        )
        func grantRevokedDuringTheUpload() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let lab = try Participant(on: node)
                let granted = try await patient.client.grant(
                    .permit(to: lab.id, actions: [.write], categories: [.labs]))
                _ = try await lab.client.write(
                    patient: patient.id, category: .labs, content: Array("sodium 140 mmol/L".utf8),
                    mediaType: "text/plain")
                let written = try await Self.recordIDs(of: patient, [.labs])
                let sequence = try await lab.nextSequence()
                let content = Array("potassium 3.9 mmol/L".utf8)
                let signed = try await lab.signed(.writeRecord(.describing(content, of: patient.id, category: .labs)))
                let storedBefore = storedContentFiles(on: node, patient: patient.id).records

                let (messages, sender) = AsyncStream.makeStream(of: Healthledger_V1_WriteRequest.self)
                let upload = Task { try await lab.client.stub.write(messages) }
                sender.yield(.signedTransaction(signed))
                try await Task.sleep(for: .milliseconds(300))  // the node checks the first message meanwhile
                _ = try await patient.client.revoke(grantID: granted.grantId)
                sender.yield(.contentChunk(content, at: 0))
                sender.finish()

                await expectStatus(.permissionDenied, "a write committed after its grant was revoked") {
                    try await upload.value
                }
                #expect(try await lab.nextSequence() == sequence)
                #expect(try await Self.recordIDs(of: patient, [.labs]) == written)
                #expect(written.count == 2 && written.first == record)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == lab.id }
                #expect(trail.map(\.outcome) == [.denied])
                #expect(trail.first?.action == .write)
                let storedAfter = storedContentFiles(on: node, patient: patient.id)
                #expect(
                    storedAfter.records.sorted() == storedBefore.sorted(),
                    "the refused upload's content was kept: \(Set(storedAfter.records).subtracting(storedBefore))")
                #expect(storedAfter.temporary.isEmpty)
            }
        }

        @Test(
            "a write whose sequence skips ahead, sent while the author's previous transaction commits, is never committed without its content"
        )
        func writeAheadOfAnInFlightTransaction() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                // The window is the commit of the previous transaction (one fsync): most attempts hit it.
                for attempt in 0..<10 {
                    let sequence = try #require(try await patient.nextSequence())
                    let content = Array("attempt \(attempt): creatinine 80 umol/L".utf8)
                    let grant = try await patient.signed(
                        .grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]).about(patient.id)),
                        sequence: sequence)
                    let write = try await patient.signed(
                        .writeRecord(.describing(content, of: patient.id, category: .labs)), sequence: sequence + 1)

                    async let granted = patient.submitGrant(grant)
                    let written: Result<Healthledger_V1_WriteResponse, Error>
                    do {
                        written = .success(
                            try await patient.submitWrite([.signedTransaction(write), .contentChunk(content, at: 0)]))
                    } catch {
                        written = .failure(error)
                    }
                    _ = try await granted

                    let recordID = TransactionSigner.transactionID(of: write)
                    let committed = try await Self.recordIDs(of: patient, [.labs]).contains(recordID)
                    switch written {
                    case .success:
                        var request = Healthledger_V1_QueryRequest.of(patient.id, [.labs], purpose: .patientRequest)
                        request.recordIds = [recordID]
                        let read = try await patient.client.query(request)
                        #expect(
                            read.records.map(\.content) == [content],
                            "attempt \(attempt): acknowledged but not readable")
                    case .failure(let error):
                        #expect(
                            (error as? RPCError)?.code == .failedPrecondition,
                            "attempt \(attempt): the write ahead of its sequence failed with \(error)")
                        #expect(
                            !committed,
                            "attempt \(attempt): a write that failed (\(error)) is committed on the chain without its content"
                        )
                        if committed { return }  // one such record shows it; the others would repeat it
                    }
                }
            }
        }
    }
}
