import FHIRMapping
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import Logging
import RPCCore

extension LedgerService {
    /// Largest content chunk: 1 MiB.
    static let maxChunkBytes = 1 << 20

    public func write(
        requests: RequestStream<Healthledger_V1_WriteRequest>, context: ServerContext
    ) async throws -> Healthledger_V1_WriteResponse {
        var messages = requests.makeAsyncIterator()
        guard let first = try await messages.next() else {
            throw InputValidation.invalid("write", "empty stream: the first message must carry the transaction")
        }
        guard case .transaction(let signed)? = first.part else {
            throw InputValidation.invalid("write[0]", "the first message must carry the transaction, not a chunk")
        }
        // The author's keys and the patient's policy as of every block ordered before the call (the checks below
        // refuse before any content is accepted).
        try await runtime.awaitReadIndexForTransaction()
        let transaction = try runtime.verifiedTransaction(signed, kind: .writeRecord)
        guard case .writeRecord(let record) = transaction.operation else { preconditionFailure("validated kind") }
        if record.sizeBytes > runtime.configuration.maxRecordBytes {
            throw RPCError(
                .resourceExhausted,
                "transaction.body.write_record.size_bytes: \(record.sizeBytes) bytes is above this node's maximum of \(runtime.configuration.maxRecordBytes)")
        }
        // FHIR content is named by the signed media type, so a version this node cannot check is refused before
        // anything else; the content itself is checked as it streams in, below.
        var fhirContent: FHIRRecordContentCheck?
        if case .writeRecord(let metadata)? = transaction.body.operation {
            fhirContent = try FHIRRecordContentCheck(
                mediaType: metadata.mediaType, category: metadata.category,
                field: "transaction.body.write_record.media_type")
        }
        let now = runtime.now()
        // Sequence, key and permission are checked before any content is accepted, so a refused writer
        // uploads nothing. A refusal by policy or of a retired key is audited; the transaction itself never commits
        // on this path.
        if let refusal = runtime.wouldRefuse(transaction) {
            if let event = runtime.refusalEvent(of: transaction, refusal, receivedAt: now) {
                _ = try await runtime.commitAudit(event)
            }
            throw refusal
        }

        let upload: ContentUpload
        let contentStore = runtime.contentStore
        let patient = record.patient.text
        do {
            // A patient's first upload creates and syncs their data key.
            upload = try await performBlockingStorageCall { () throws(StorageError) in
                try contentStore.beginUpload(patient: patient)
            }
        } catch {
            throw RPCError(storage: error)
        }
        var committedContent = false
        defer { if !committedContent { upload.abort() } }
        var received: UInt64 = 0
        var index = 1
        while let message = try await messages.next() {
            guard case .chunk(let chunk)? = message.part else {
                throw InputValidation.invalid("write[\(index)]", "only content chunks may follow the transaction")
            }
            if chunk.data.isEmpty { throw InputValidation.invalid("write[\(index)].chunk.data", "empty chunk") }
            if chunk.data.count > Self.maxChunkBytes {
                throw RPCError(
                    .resourceExhausted, "write[\(index)].chunk.data: \(chunk.data.count) bytes is above 1 MiB")
            }
            if chunk.offsetBytes != received {
                throw InputValidation.invalid(
                    "write[\(index)].chunk.offset_bytes", "expected \(received), got \(chunk.offsetBytes)")
            }
            received += UInt64(chunk.data.count)
            if received > record.sizeBytes {
                throw InputValidation.invalid(
                    "write[\(index)].chunk", "content is longer than size_bytes (\(record.sizeBytes))")
            }
            // FHIR content that cannot fit its category fails at the chunk that shows it, not after the upload.
            try fhirContent?.inspect(chunk.data)
            do { try upload.append(chunk.data) } catch { throw RPCError(storage: error) }
            index += 1
        }
        let uploaded: (sha256: [UInt8], size: UInt64)
        do { uploaded = try upload.finish() } catch { throw RPCError(storage: error) }
        if uploaded.size != record.sizeBytes {
            throw InputValidation.invalid(
                "write", "received \(uploaded.size) content bytes but size_bytes is \(record.sizeBytes)")
        }
        if uploaded.sha256 != record.contentSHA256 {
            throw InputValidation.invalid("write", "the content does not hash to content_sha256")
        }
        _ = try fhirContent?.finish()
        // Content is durable before the transaction that points at it commits. If the transaction is refused
        // after all (the state moved on during the upload), the content goes again unless something else uses it.
        let reference = runtime.contentReferences.retain(patient: record.patient.text, sha256: record.contentSHA256)
        defer { runtime.contentReferences.release(reference) }
        do {
            try await performBlockingStorageCall { () throws(StorageError) in try upload.commit() }
        } catch {
            throw RPCError(storage: error)
        }
        committedContent = true
        let receipt: CommitReceipt
        do {
            receipt = try await runtime.commit(transaction, receivedAt: now)
        } catch {
            runtime.discardUnreferencedContent(reference)
            throw error
        }
        var response = Healthledger_V1_WriteResponse()
        response.recordId = transaction.id
        response.receipt = try runtime.receipt(transaction, receipt)
        return response
    }
}

extension LedgerRuntime {
    /// The error admitting `transaction` now would give, without committing anything.
    func wouldRefuse(_ transaction: ValidatedTransaction) -> RPCError? {
        let now = self.now()
        let rules = self.rules
        return cell.read { state -> RPCError? in
            var draft = BlockDraft(after: state, time: now, rules: rules)
            do throws(RPCError) {
                _ = try draft.admit(transaction, salt: [], on: state)
                return nil
            } catch {
                return error
            }
        }
    }

    /// Deletes content a refused write stored, unless a live record or another upload in flight uses it.
    func discardUnreferencedContent(_ reference: ContentReferences.Reference) {
        guard contentReferences.count(of: reference) == 1,
            !isContentInUse(patient: reference.patient, sha256: reference.sha256)
        else { return }
        do { try contentStore.erase(patient: reference.patient, sha256: reference.sha256) } catch {
            logger.error("discarding refused content failed", metadata: ["error": "\(error)"])
        }
    }

    /// Whether a committed, not erased record of `patient` points at the content `sha256`.
    func isContentInUse(patient: String, sha256: [UInt8]) -> Bool {
        cell.read { state in state.records.isContentLive(patient: patient, sha256: sha256) }
    }

    /// Destroys the stored content erased by committed erasures: a patient's data key with erase-all, else each
    /// erased record's content unless another live record of the patient shares it. Content this node does not hold
    /// is skipped (in a cluster, content stays on the node that received its Write).
    static func destroyContent(
        erasedBy admissions: [Admission], cell: LedgerStateCell, contentStore: RecordContentStore, logger: Logger
    ) {
        for admission in admissions {
            if let patient = admission.erasesAllOf {
                do { _ = try contentStore.eraseAll(patient: patient.text) } catch {
                    logger.error("erasing content failed", metadata: ["patient": "\(patient)", "error": "\(error)"])
                }
                continue
            }
            for record in admission.erasedRecords {
                let patient = record.patient
                let hash = record.contentSha256
                let inUse = cell.read { state in state.records.isContentLive(patient: patient, sha256: hash) }
                if inUse || !contentStore.contains(patient: patient, sha256: hash) { continue }
                do { try contentStore.erase(patient: patient, sha256: hash) } catch {
                    logger.error("erasing content failed", metadata: ["record": "\(record.id)", "error": "\(error)"])
                }
            }
        }
    }
}

extension RPCError {
    /// The gRPC status for a storage failure: UNAVAILABLE for I/O (disk full, EIO), DATA_LOSS for damage.
    init(storage error: StorageError) {
        switch error.kind {
        case .dataLoss, .corrupt: self.init(.dataLoss, "stored content is damaged: \(error.reason)")
        case .notFound: self.init(.notFound, error.reason)
        case .invalidArgument: self.init(.invalidArgument, error.reason)
        default: self.init(.unavailable, "the node cannot store data right now (\(error.reason)); retry later")
        }
    }
}
