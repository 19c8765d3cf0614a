import Dispatch
import Foundation
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerNode

/// `verify --data-dir`: every block of a node's block log checked by `ChainVerifier` without a node, reading the
/// directory and writing nothing. Snapshots are never read: they are the node's cache of state derived from the log,
/// so they can neither vouch for nor hide anything in it.
struct DataDirectoryVerification {
    /// What a verification that passed found.
    struct Summary {
        var chainID: String
        var nodeKeyID: String
        var blocks: UInt64
        var entries: UInt64
        var auditEvents: UInt64
        var transactionSignatures: UInt64
        var nodeSignaturesVerified: UInt64
        var headHash: [UInt8]
        var treeRoot: [UInt8]
        var seconds: Double
    }

    /// Signatures verified together, spread over the cores.
    static let signatureBatch = 2_048
    /// Batches handed to the signature workers and not yet verified: the reading and checking of the next blocks
    /// overlaps their verification, and the memory they hold stays bounded.
    static let batchesInFlight = 2

    let directory: String
    let verifyingTransactions: Bool
    /// Verify the node signatures of the last block only, as a starting node does: every header names its
    /// predecessor's hash and every checkpoint is checked against its header, so the head's signature vouches for
    /// the content of every header and checkpoint before it (though not for their own signature bytes).
    let verifyingHeadSignaturesOnly: Bool
    /// The node key id the caller expects (from an earlier `healthledger status`, say); nil trusts node-key.pem.
    let expectedNodeKeyID: String?
    let showsProgress: Bool

    /// Runs the verification; throws a `CommandFailure` (exit 1) naming the block, and the entry when one is at
    /// fault, at the first inconsistency.
    func run() throws -> Summary {
        let started = ContinuousClock.now
        let chainID = try readChainID()
        let nodeKey = try readNodeKey()
        var record = Healthledger_V1_NodeKey()
        record.keyId = nodeKey.keyID
        var wire = Healthledger_V1_PublicKey()
        wire.algorithm = nodeKey.algorithm == .ecdsaP256 ? .ecdsaP256 : .ed25519
        wire.keyBytes = nodeKey.rawBytes
        record.publicKey = wire
        record.validFromHeight = 1
        // A cluster node's blocks are signed by whichever node led: the node keeps the cluster's keys beside its own.
        let clusterKeys: [Healthledger_V1_NodeKey]
        do { clusterKeys = try ClusterNodeKeyFile.read(directory: directory) } catch {
            throw CommandFailure(.failure, "\(error)", hint: "restore the file from a backup, or delete it on a single node")
        }
        let nodeKeys = [record] + clusterKeys.filter { $0.keyId != record.keyId }
        var verifier: ChainVerifier
        do { verifier = try ChainVerifier(chainID: chainID, nodeKeys: nodeKeys) } catch { throw inconsistency(error) }
        // The signature workers need only the node keys: a copy taken before any block shares no Merkle tree with
        // `verifier`, so its appends never copy chunks the workers hold.
        let signatures = SignatureWorkers(verifier: verifier)

        let reader = try BlockLogReader(path: directory + "/blocks.log")
        var progress = ProgressBar(
            total: showsProgress ? reader.countFrames() : 0, totalBytes: reader.fileSize, label: "verifying",
            unit: "blocks", hidden: !showsProgress)
        defer { progress.finish() }
        var pending: [SignatureCheck] = []
        var head: SignatureCheck?
        pending.reserveCapacity(Self.signatureBatch)
        do {
            while true {
                let payload: [UInt8]?
                do { payload = try reader.next() } catch {
                    try signatures.finish(pending)
                    throw error
                }
                guard let payload else { break }
                let height = verifier.checkedHeight + 1
                do {
                    let stored: StoredBlock
                    do { stored = try StoredBlock(serializedBytes: payload) } catch {
                        throw HealthLedgerClient.ChainVerificationError(
                            height: height, "stored block does not decode: \(error)")
                    }
                    guard let header = stored.header, let checkpoint = stored.checkpoint else {
                        throw HealthLedgerClient.ChainVerificationError(height: height, "header or checkpoint missing")
                    }
                    try verifier.check(
                        header, entries: stored.entries, checkpoint: checkpoint, verifyingNodeSignatures: false,
                        transactionSignatures: verifyingTransactions ? .collect : .skip)
                    let blockCheck = SignatureCheck.block(height: height, header: header, checkpoint: checkpoint)
                    if verifyingHeadSignaturesOnly { head = blockCheck } else { pending.append(blockCheck) }
                    pending += verifier.takePendingTransactionSignatures().map { .transaction($0) }
                } catch {
                    // A signature failure in an earlier block is the first inconsistency, not this one.
                    try signatures.finish(pending)
                    throw error
                }
                if pending.count >= Self.signatureBatch {
                    signatures.submit(pending)
                    pending.removeAll(keepingCapacity: true)
                    // A failure in a batch already verified ends the run: nothing after it can come first.
                    if signatures.hasFailed { break }
                }
                progress.update(verifier.checkedHeight, bytes: reader.offset)
            }
            try signatures.finish(pending + (head.map { [$0] } ?? []))
        } catch let error as HealthLedgerClient.ChainVerificationError {
            throw inconsistency(error)
        }
        guard verifier.checkedHeight > 0 else {
            throw CommandFailure(
                .failure, "\(directory)/blocks.log holds no block", hint: "a node writes block 1 when it first starts")
        }
        return Summary(
            chainID: chainID, nodeKeyID: nodeKey.keyID, blocks: verifier.checkedHeight, entries: verifier.treeSize,
            auditEvents: verifier.auditEventCount, transactionSignatures: verifier.transactionSignatureCount,
            nodeSignaturesVerified: verifyingHeadSignaturesOnly ? 2 : 2 * verifier.checkedHeight,
            headHash: verifier.headHash, treeRoot: verifier.treeRoot,
            seconds: ProgressBar.seconds(ContinuousClock.now - started))
    }

    /// A signature left to verify in a batch.
    enum SignatureCheck: Sendable {
        /// The node signatures of a block's header and checkpoint.
        case block(
            height: UInt64, header: Healthledger_V1_SignedBlockHeader, checkpoint: Healthledger_V1_SignedCheckpoint)
        /// A transaction's author signature.
        case transaction(PendingTransactionSignature)
    }

    /// Verifies `checks` on every core, recording in `firstFailures` each worker's first failure (the lowest of them
    /// is the first in the chain: a block's node signatures before its entries').
    static func verifySignatures(
        of checks: [SignatureCheck], with verifier: ChainVerifier, recordingIn firstFailures: FirstFailures
    ) {
        guard !checks.isEmpty else { return }
        let workers = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), checks.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var index = worker
            while index < checks.count {
                let failure: HealthLedgerClient.ChainVerificationError?
                switch checks[index] {
                case .block(let height, let header, let checkpoint):
                    failure = verifier.nodeSignatureProblem(header: header, checkpoint: checkpoint, height: height)
                        .map { HealthLedgerClient.ChainVerificationError(height: height, $0) }
                case .transaction(let signature):
                    failure = signature.problem().map {
                        HealthLedgerClient.ChainVerificationError(height: signature.height, entry: signature.entry, $0)
                    }
                }
                if let failure {
                    firstFailures.record(failure)
                    return
                }
                index += workers
            }
        }
    }

    private func inconsistency(_ error: HealthLedgerClient.ChainVerificationError) -> CommandFailure {
        CommandFailure(
            .failure, "\(directory) does not verify: \(error)",
            hint: "the block log was altered or damaged after it was written; keep this directory as it is and "
                + "compare it with a backup")
    }

    private func readChainID() throws -> String {
        let path = directory + "/chain-id"
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(
                .notFound, "cannot read \(path)", hint: "give the data directory of a node (serve --data-dir)")
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func readNodeKey() throws -> SigningPublicKey {
        let path = directory + "/node-key.pem"
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(
                .notFound, "cannot read \(path)", hint: "give the data directory of a node (serve --data-dir)")
        }
        let key: SigningPublicKey
        do {
            key = try SigningPrivateKey(pemRepresentation: String(decoding: bytes, as: UTF8.self)).publicKey
        } catch {
            throw CommandFailure(.failure, "\(path) holds no usable key: \(error)", hint: "restore it from a backup")
        }
        if let expectedNodeKeyID, expectedNodeKeyID.lowercased() != key.keyID {
            throw CommandFailure(
                .failure, "\(path) holds node key \(key.keyID), not the expected \(expectedNodeKeyID)",
                hint: "the directory's key was replaced: its blocks may have been re-signed; compare with a backup")
        }
        return key
    }
}

/// Verifies batches of signatures on every core while the caller reads and checks the next blocks; `finish` waits
/// for them and throws the failure that comes first in the chain.
final class SignatureWorkers: Sendable {
    private let verifier: ChainVerifier
    private let failures = FirstFailures()
    private let inFlight = DispatchSemaphore(value: DataDirectoryVerification.batchesInFlight)
    private let group = DispatchGroup()

    /// Workers checking node signatures against the keys of `verifier`.
    init(verifier: ChainVerifier) { self.verifier = verifier }

    /// Whether a batch verified so far failed.
    var hasFailed: Bool { failures.lowest != nil }

    /// Starts verifying `checks`; waits first while `batchesInFlight` batches are being verified.
    func submit(_ checks: [DataDirectoryVerification.SignatureCheck]) {
        guard !checks.isEmpty else { return }
        inFlight.wait()
        DispatchQueue.global().async(group: group) { [self] in
            DataDirectoryVerification.verifySignatures(of: checks, with: verifier, recordingIn: failures)
            inFlight.signal()
        }
    }

    /// Verifies `checks` too, waits for every batch, and throws the first failure in chain order.
    func finish(_ checks: [DataDirectoryVerification.SignatureCheck]) throws(HealthLedgerClient.ChainVerificationError) {
        DataDirectoryVerification.verifySignatures(of: checks, with: verifier, recordingIn: failures)
        group.wait()
        if let first = failures.lowest { throw first }
    }
}

/// The signature failure that comes first in the chain among those the workers found.
final class FirstFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var first: HealthLedgerClient.ChainVerificationError?

    /// Keeps `failure` if it comes before the one kept: lower height, then a block's own before its entries'.
    func record(_ failure: HealthLedgerClient.ChainVerificationError) {
        lock.withLock {
            if let first, Self.order(first) <= Self.order(failure) { return }
            first = failure
        }
    }

    /// The first failure recorded; nil while none.
    var lowest: HealthLedgerClient.ChainVerificationError? { lock.withLock { first } }

    private static func order(_ failure: HealthLedgerClient.ChainVerificationError) -> (UInt64, UInt64) {
        (failure.height, failure.entry.map { $0 + 1 } ?? 0)
    }
}
