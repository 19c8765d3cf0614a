import Glibc
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore

/// One transaction call ready to send: its request messages encoded, and the id the node must answer with.
struct PreparedCall: Sendable {
    /// Which RPC carries it.
    var kind: TransactionKind
    /// The request messages (one for Grant; the transaction then one content chunk for Write).
    var requests: [[UInt8]]
    /// The transaction id (hex SHA-256 of the signed body): GrantResponse.grant_id / WriteResponse.record_id.
    var transactionID: String
}

/// A patient's transactions, in sequence order (1, 2, ...; the first attaches the public key).
struct PatientCalls: Sendable {
    var patient: String
    var calls: [PreparedCall]
}

/// What kind of transaction a patient sends.
enum TransactionKind: String, Sendable {
    /// A PERMIT grant of READ on labs for treatment to one clinician.
    case grant
    /// A write of a lab record with `contentBytes` of random content, by the patient.
    case write
}

/// Builds and signs transactions before any timed phase, on every core the process may use.
enum Presigner {
    /// `patients` new patients with `perPatient` transactions each, sequences `firstSequence`... For grants,
    /// `grantee` is the clinician.
    static func prepare(
        patients: Int, perPatient: Int, kind: TransactionKind, grantee: String, contentBytes: Int, chainID: String,
        identities: [LedgerIdentity]? = nil, firstSequence: UInt64 = 1
    ) async -> [PatientCalls] {
        let createdAt = wallClockMs()
        return await parallelMap(patients) { index in
            let identity = identities?[index] ?? LedgerIdentity.generate()
            let signer = TransactionSigner(identity: identity, chainID: chainID)
            var calls: [PreparedCall] = []
            calls.reserveCapacity(perPatient)
            for offset in 0..<perPatient {
                let sequence = firstSequence + UInt64(offset)
                switch kind {
                case .grant:
                    calls.append(grantCall(signer: signer, grantee: grantee, sequence: sequence, createdAt: createdAt))
                case .write:
                    let content = SecureRandom.bytes(contentBytes)
                    calls.append(
                        writeCall(signer: signer, content: content, sequence: sequence, createdAt: createdAt))
                }
            }
            return PatientCalls(patient: identity.id, calls: calls)
        }
    }

    /// A signed PERMIT grant of READ on labs for treatment to `grantee`, as its request message.
    static func grantCall(signer: TransactionSigner, grantee: String, sequence: UInt64, createdAt: Int64) -> PreparedCall {
        var grant = Healthledger_V1_Grant()
        grant.patient = signer.identity.id
        grant.grantee = grantee
        grant.actions = [.read]
        grant.categories = [.labs]
        grant.purposes = [.treatment]
        grant.effect = .permit
        let signed = signer.sign(.grant(grant), sequence: sequence, createdAt: createdAt, attachPublicKey: sequence == 1)
        var request = Healthledger_V1_GrantRequest()
        request.transaction = signed
        return PreparedCall(
            kind: .grant, requests: [request.serializedBytes()], transactionID: TransactionSigner.transactionID(of: signed))
    }

    /// A signed Write of a lab record holding `content`, as its two request messages; the record is the
    /// signer's own unless `patient` names another (then the signer needs the patient's WRITE permit).
    static func writeCall(
        signer: TransactionSigner, content: [UInt8], sequence: UInt64, createdAt: Int64, patient: String? = nil
    ) -> PreparedCall {
        var metadata = Healthledger_V1_RecordMetadata()
        metadata.patient = patient ?? signer.identity.id
        metadata.category = .labs
        metadata.contentSha256 = SHA256.hash(content)
        metadata.sizeBytes = UInt64(content.count)
        metadata.mediaType = "text/plain"
        metadata.effectiveAtUnixMs = 1_700_000_000_000
        let signed = signer.sign(
            .writeRecord(metadata), sequence: sequence, createdAt: createdAt, attachPublicKey: sequence == 1)
        var first = Healthledger_V1_WriteRequest()
        first.part = .transaction(signed)
        var requests = [first.serializedBytes()]
        if !content.isEmpty {
            var chunk = Healthledger_V1_ContentChunk()
            chunk.data = content
            chunk.offsetBytes = 0
            var message = Healthledger_V1_WriteRequest()
            message.part = .chunk(chunk)
            requests.append(message.serializedBytes())
        }
        return PreparedCall(kind: .write, requests: requests, transactionID: TransactionSigner.transactionID(of: signed))
    }

    /// Milliseconds since the Unix epoch.
    static func wallClockMs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// The cores this process may run on (the Cpus_allowed mask of /proc/self/status), at least 1.
func usableCores() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 1 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 1024)
    while fgets(&buffer, 1024, file) != nil {
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard line.hasPrefix("Cpus_allowed:") else { continue }
        let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { total, character in
            total + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        return max(1, count)
    }
    return 1
}

/// `transform` of 0..<count, computed on `usableCores()` tasks in contiguous slices.
func parallelMap<T: Sendable>(_ count: Int, _ transform: @escaping @Sendable (Int) -> T) async -> [T] {
    let workers = min(max(1, count), usableCores())
    let slice = (count + workers - 1) / max(1, workers)
    var results = [[T]](repeating: [], count: workers)
    await withTaskGroup(of: (Int, [T]).self) { group in
        for worker in 0..<workers {
            group.addTask {
                let range = (worker * slice)..<min(count, (worker + 1) * slice)
                return (worker, range.map(transform))
            }
        }
        for await (worker, part) in group { results[worker] = part }
    }
    return results.flatMap { $0 }
}
