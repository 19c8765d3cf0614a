import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerNode
import LedgerStorage
import Logging
import RPCCore
import Synchronization
import Testing

/// A node over h2c whose disk fails (ENOSPC or EIO on write or fsync) while clients use it: every change is refused
/// with UNAVAILABLE and leaves nothing behind, reads that need no durable write go on, and when the disk recovers
/// the node takes writes again without a restart; a restart on the plain disk then shows exactly what was
/// acknowledged, and `healthledger verify --data-dir` passes.
///
/// Where a read is safe: GetChainHead, GetBlocks, proofs, ListGrants, GetPrincipal and the patient's own AuditStream
/// replay only read committed state (and block log preads), so they keep working. Query, and AuditStream by an
/// AUDIT_READ grantee, release data only after their audit event is in a durable block: with the block log failing
/// that event cannot be committed, so they fail UNAVAILABLE rather than release anything unaudited.
@Suite("A node on a failing disk", .serialized)
struct StorageFaultTests {
    static let chainID = "fault-chain"

    @Test(
        "given a patient whose lab result a clinician read, when the disk fails, then grants, revokes, writes and queries get UNAVAILABLE and change nothing, reads of committed state go on, and after the disk recovers writes succeed without a restart and a restart shows exactly what was acknowledged",
        arguments: DiskFault.all)
    func failingDisk(_ fault: DiskFault) async throws {
        let root = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dataDirectory = root + "/data"
        let disk = FaultyDisk(target: fault.target)
        var server = try await Self.serve(dataDirectory, fileIO: disk.fileIO)
        var transport = try Self.plaintextTransport(port: server.port)

        // Given a patient with a lab result that a clinician was granted and read.
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let stranger = LedgerIdentity.generate()
        let laterGrantee = LedgerIdentity.generate()
        var patientClient = LedgerClient(transport: transport, identity: patient)
        var clinicianClient = LedgerClient(transport: transport, identity: clinician)
        var stub = Healthledger_V1_LedgerClient(transport: transport)
        let firstLab = Array("potassium 4.1 mmol/L".utf8)
        let firstWrite = try await patientClient.write(
            patient: patient.id, category: .labs, content: firstLab, mediaType: "text/plain")
        let clinicianGrant = try await patientClient.grant(
            .permit(to: clinician.id, actions: [.read, .auditRead], categories: [.labs]))
        #expect(try await clinicianClient.query(.of(patient.id, [.labs])).records.map { $0.content } == [firstLab])
        let headBefore = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        let trailBefore = try await Self.auditTrail(of: patient.id, by: patientClient)
        let blockLogPath = dataDirectory + "/blocks.log"
        let blockLogSize = Self.fileSize(blockLogPath)
        let sequence = try await Self.nextSequence(of: patient, client: patientClient)

        // When the disk fails.
        fault.inject(into: disk.injector)
        let signer = TransactionSigner(identity: patient, chainID: Self.chainID)
        let now = LedgerClient<HTTP2ClientTransport>.now()
        let refusedGrant = signer.sign(
            .grant(.permit(to: stranger.id, actions: [.read], categories: [.labs], patient: patient.id)),
            sequence: sequence, createdAt: now, attachPublicKey: false)
        var revoke = Healthledger_V1_Revoke()
        revoke.grantId = clinicianGrant.grantId
        let refusedRevoke = signer.sign(.revoke(revoke), sequence: sequence, createdAt: now, attachPublicKey: false)
        let secondLab = Array("sodium 139 mmol/L".utf8)
        let refusedWrite = signer.sign(
            .writeRecord(
                LedgerClient<HTTP2ClientTransport>.recordMetadata(
                    patient: patient.id, category: .labs, sha256: SHA256.hash(secondLab),
                    sizeBytes: UInt64(secondLab.count), mediaType: "text/plain")),
            sequence: sequence, createdAt: now, attachPublicKey: false)

        // Then every change is refused as UNAVAILABLE with a one-line message.
        var grantRequest = Healthledger_V1_GrantRequest()
        grantRequest.transaction = refusedGrant
        var revokeRequest = Healthledger_V1_RevokeRequest()
        revokeRequest.transaction = refusedRevoke
        await Self.expectUnavailable("Grant", fault) { [stub, grantRequest] in try await stub.grant(grantRequest) }
        await Self.expectUnavailable("Revoke", fault) { [stub, revokeRequest] in try await stub.revoke(revokeRequest) }
        await Self.expectUnavailable("Write", fault) { [stub] in
            try await stub.write(Self.writeMessages(refusedWrite, content: secondLab))
        }
        // A query's audit event cannot be made durable, so nothing is released; nor is the trail to an AUDIT_READ
        // grantee, whose reading of it is audited too.
        await Self.expectUnavailable("Query", fault) { [clinicianClient] in
            try await clinicianClient.query(.of(patient.id, [.labs]))
        }

        await Self.expectUnavailable("AuditStream by an AUDIT_READ grantee", fault) { [clinicianClient] in
            try await Self.auditTrail(of: patient.id, by: clinicianClient)
        }

        // And nothing of them is visible, while reads of what is committed go on.
        let headDuring = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        #expect(headDuring.height == headBefore.height)
        #expect(headDuring.checkpoint == headBefore.checkpoint)
        let treeSize = try Healthledger_V1_Checkpoint(serializedBytes: headDuring.checkpoint?.checkpoint ?? []).treeSize
        var inclusionRequest = Healthledger_V1_GetInclusionProofRequest()
        inclusionRequest.leafIndex = try #require(firstWrite.receipt).entryIndex
        let inclusion = try await stub.getInclusionProof(inclusionRequest)
        #expect(inclusion.proof?.treeSize == treeSize)
        #expect(inclusion.proof?.auditPath.isEmpty == false)
        var consistencyRequest = Healthledger_V1_GetConsistencyProofRequest()
        consistencyRequest.firstTreeSize = 1
        let consistency = try await stub.getConsistencyProof(consistencyRequest)
        #expect(consistency.proof?.consistencyPath.isEmpty == false)
        var blocksRequest = Healthledger_V1_GetBlocksRequest()
        blocksRequest.startHeight = 1
        var blockCount = 0
        for try await _ in try await stub.getBlocks(blocksRequest) { blockCount += 1 }
        #expect(UInt64(blockCount) == headBefore.height)
        #expect(try await Self.auditTrail(of: patient.id, by: patientClient) == trailBefore)
        #expect(try await Self.grantees(of: patient.id, by: patientClient) == [clinician.id: .active])
        #expect(try await Self.nextSequence(of: patient, client: patientClient) == sequence)
        #expect(Self.fileSize(blockLogPath) == blockLogSize, "a refused block left bytes in the block log")
        let content = Self.storedContent(dataDirectory, patient: patient.id)
        #expect(content.records == [Hex.encode(SHA256.hash(firstLab))], "refused content was kept")
        #expect(content.temporary.isEmpty, "a refused upload left its temporary file")
        #expect(disk.injector.injectedFailures > 0)

        // When the disk recovers, the same node takes writes again.
        disk.injector.clear()
        let retried = try await stub.write(Self.writeMessages(refusedWrite, content: secondLab))
        #expect(retried.recordId == TransactionSigner.transactionID(of: refusedWrite))
        // A new client learns the sequence again: the retried write took the one the patient's client had cached.
        patientClient = LedgerClient(transport: transport, identity: patient)
        let laterGrant = try await patientClient.grant(
            .permit(to: laterGrantee.id, actions: [.read], categories: [.labs]))
        #expect(
            Set(try await clinicianClient.query(.of(patient.id, [.labs])).records.map { $0.content }) == [
                firstLab, secondLab,
            ])
        let headAfter = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        let trailAfter = try await Self.auditTrail(of: patient.id, by: patientClient)
        #expect(trailAfter.count == trailBefore.count + 1, "one audit event for the one query that released data")

        // Then a restart on the plain disk shows every acknowledged transaction and none of the refused ones.
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
        server = try await Self.serve(dataDirectory, fileIO: .system)
        transport = try Self.plaintextTransport(port: server.port)
        patientClient = LedgerClient(transport: transport, identity: patient)
        clinicianClient = LedgerClient(transport: transport, identity: clinician)
        stub = Healthledger_V1_LedgerClient(transport: transport)
        let restartedHead = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        #expect(restartedHead.height == headAfter.height)
        #expect(restartedHead.checkpoint == headAfter.checkpoint)
        #expect(try await Self.auditTrail(of: patient.id, by: patientClient) == trailAfter)
        #expect(
            try await Self.grantees(of: patient.id, by: patientClient) == [
                clinician.id: .active, laterGrantee.id: .active,
            ])
        #expect(laterGrant.grantId != "")
        // The refused grant, revoke and first write attempt all carried `sequence`: only the retried write took it.
        #expect(try await Self.nextSequence(of: patient, client: patientClient) == sequence + 2)
        let stored = try await patientClient.query(.of(patient.id, [.labs], purpose: .patientRequest))
        #expect(
            Dictionary(uniqueKeysWithValues: stored.records.map { ($0.record.recordId, $0.content) }) == [
                firstWrite.recordId: firstLab, retried.recordId: secondLab,
            ])
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))

        let verification = try Self.verifyDataDirectory(dataDirectory)
        #expect(verification.status == 0, "\(verification.stderr)")
        let summary = try verification.json()
        #expect(summary["verified"] as? Bool == true)
        #expect((summary["height"] as? Int).map(UInt64.init) == restartedHead.height + 1, "the last query's block")
    }

    @Test(
        "given an erasure committed but its content file left on disk (a crash or a failing disk between the two), when the node restarts, then the file is deleted and the patient's other record stays readable"
    )
    func erasedContentLeftBehindIsDeletedOnRestart() async throws {
        let root = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dataDirectory = root + "/data"
        var server = try await Self.serve(dataDirectory, fileIO: .system)
        var transport = try Self.plaintextTransport(port: server.port)
        let patient = LedgerIdentity.generate()
        var client = LedgerClient(transport: transport, identity: patient)
        let kept = Array("potassium 4.1 mmol/L".utf8)
        let erased = Array("HIV test: negative".utf8)
        _ = try await client.write(patient: patient.id, category: .labs, content: kept, mediaType: "text/plain")
        let doomed = try await client.write(patient: patient.id, category: .labs, content: erased, mediaType: "text/plain")
        let recordsDirectory = dataDirectory + "/content/records/" + patient.id
        let doomedFile = recordsDirectory + "/" + Hex.encode(SHA256.hash(erased))
        let saved = try #require(FileManager.default.contents(atPath: doomedFile))
        _ = try await client.erase(recordIDs: [doomed.recordId], reason: "no longer relevant")
        #expect(!FileManager.default.fileExists(atPath: doomedFile))
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))

        // The unlink that did not reach the disk: the file is back, as after a crash before the directory sync.
        #expect(FileManager.default.createFile(atPath: doomedFile, contents: saved))
        server = try await Self.serve(dataDirectory, fileIO: .system)
        transport = try Self.plaintextTransport(port: server.port)
        client = LedgerClient(transport: transport, identity: patient)
        #expect(!FileManager.default.fileExists(atPath: doomedFile), "erased content survived a restart")
        let stored = try await client.query(.of(patient.id, [.labs], purpose: .patientRequest))
        #expect(stored.records.filter { !$0.record.contentErased }.map(\.content) == [kept])
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    // MARK: - Helpers

    /// Opens (or reopens) the node at `dataDirectory` on `fileIO` and serves it over h2c on a free port.
    static func serve(_ dataDirectory: String, fileIO: FileIO) async throws -> LedgerServer {
        var configuration = LedgerNodeConfiguration(dataDirectory: dataDirectory, chainID: chainID)
        configuration.fileIO = fileIO
        var logger = Logger(label: "storage-fault-test-node")
        logger.logLevel = .critical
        let node = try LedgerNode.open(configuration, logger: logger)
        try await node.ensureGenesisBlock()
        return try LedgerServer(
            node: node, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger,
            limits: LatencyBound.serverLimits)
    }

    static func plaintextTransport(port: Int) throws -> HTTP2ClientTransport {
        try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
    }

    /// Runs `call`, expecting UNAVAILABLE with a one-line message.
    static func expectUnavailable<T>(
        _ what: String, _ fault: DiskFault, sourceLocation: SourceLocation = #_sourceLocation,
        _ call: () async throws -> T
    ) async {
        do {
            _ = try await call()
            Issue.record("\(what) succeeded on \(fault)", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.code == .unavailable, "\(what) on \(fault): \(error)", sourceLocation: sourceLocation)
            #expect(
                !error.message.isEmpty && !error.message.contains("\n"), "\(what): \(error.message.debugDescription)",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what) on \(fault): \(error), expected UNAVAILABLE", sourceLocation: sourceLocation)
        }
    }

    /// The Write call's messages: the signed transaction, then the content in one chunk.
    static func writeMessages(_ signed: Healthledger_V1_SignedTransaction, content: [UInt8])
        -> LedgerSecurityTests.PreparedMessages<Healthledger_V1_WriteRequest>
    {
        var first = Healthledger_V1_WriteRequest()
        first.part = .transaction(signed)
        var chunk = Healthledger_V1_WriteRequest()
        var data = Healthledger_V1_ContentChunk()
        data.data = content
        chunk.part = .chunk(data)
        return LedgerSecurityTests.PreparedMessages([first, chunk])
    }

    /// The principal's next sequence number as the node states it.
    static func nextSequence(of identity: LedgerIdentity, client: LedgerClient<HTTP2ClientTransport>) async throws
        -> UInt64
    {
        var request = Healthledger_V1_GetPrincipalRequest()
        request.principalId = identity.id
        let response = try await client.stub.getPrincipal(request, options: try await client.authenticated())
        return try #require(response.principal?.nextSequence)
    }

    /// The patient's whole audit trail, replayed (no follow).
    static func auditTrail(of patient: String, by client: LedgerClient<HTTP2ClientTransport>) async throws
        -> [Healthledger_V1_AuditEvent]
    {
        var request = Healthledger_V1_AuditStreamRequest()
        request.patient = patient
        request.startSequence = 1
        var events: [Healthledger_V1_AuditEvent] = []
        for try await message in try await client.auditStream(request) {
            if case .event(let logged)? = message.item, let event = logged.event { events.append(event) }
        }
        return events
    }

    /// Every grant of `patient`, inactive ones included: grantee and state.
    static func grantees(of patient: String, by client: LedgerClient<HTTP2ClientTransport>) async throws
        -> [String: Healthledger_V1_GrantState]
    {
        var request = Healthledger_V1_ListGrantsRequest()
        request.patient = patient
        request.includeInactive = true
        request.pageSize = 1_000
        let grants = try await client.stub.listGrants(request, options: try await client.authenticated()).grants
        return Dictionary(grants.map { ($0.grant?.grantee ?? "", $0.state) }, uniquingKeysWith: { first, _ in first })
    }

    /// The patient's stored content files and any leftover temporary uploads.
    static func storedContent(_ dataDirectory: String, patient: String) -> (records: [String], temporary: [String]) {
        let content = dataDirectory + "/content"
        let records = (try? FileManager.default.contentsOfDirectory(atPath: content + "/records/" + patient)) ?? []
        let temporary = (try? FileManager.default.contentsOfDirectory(atPath: content + "/tmp")) ?? []
        return (records.sorted(), temporary)
    }

    static func fileSize(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// `healthledger verify --data-dir <directory> --transactions --json`, run as the CLI binary.
    static func verifyDataDirectory(_ directory: String) throws -> CommandLineResult {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        return workspace.run(
            ["verify", "--data-dir", directory, "--transactions", "--json"], server: "127.0.0.1:1")
    }
}

/// One disk failure the suite injects: an errno on every write or every sync, on the whole disk or on the block log
/// only.
struct DiskFault: Sendable, CustomTestStringConvertible, CustomStringConvertible {
    enum Operation: Sendable { case write, sync }

    /// Which files fail.
    enum Target: Sendable {
        /// Every file: a Write fails at its record content upload (before any block), the rest at the block log.
        case wholeDisk
        /// The block log only: a Write's content is stored, then its block fails and the content is discarded.
        case blockLog
    }

    var operation: Operation
    var code: Int32
    var target: Target

    static let all: [DiskFault] = [DiskFault.Target.wholeDisk, .blockLog].flatMap { target in
        [
            DiskFault(operation: .write, code: ENOSPC, target: target),
            DiskFault(operation: .write, code: EIO, target: target),
            DiskFault(operation: .sync, code: ENOSPC, target: target),
            DiskFault(operation: .sync, code: EIO, target: target),
        ]
    }

    /// Schedules the failure: every matching operation from now on fails until `clear()`.
    func inject(into injector: FaultInjector) {
        switch operation {
        case .write: injector.failWrites(errno: code)
        case .sync: injector.failSyncs(errno: code)
        }
    }

    var description: String {
        let name = code == ENOSPC ? "ENOSPC" : "EIO"
        let call = operation == .write ? "write" : "fsync"
        return "\(name) on \(call) (\(target == .wholeDisk ? "whole disk" : "block log only"))"
    }

    var testDescription: String { description }
}

/// The node's file operations with a `FaultInjector` in front of every file or of the block log only (recognised by
/// its name when opened).
final class FaultyDisk: Sendable {
    let injector = FaultInjector()
    private let target: DiskFault.Target
    private let blockLogDescriptors = Mutex<Set<Int32>>([])

    init(target: DiskFault.Target) { self.target = target }

    /// What the node under test is configured with (`LedgerNodeConfiguration.fileIO`).
    var fileIO: FileIO {
        let faulty = FileIO.injectingFaults(into: .system, injector)
        guard target == .blockLog else { return faulty }
        let system = FileIO.system
        let isBlockLog = { @Sendable (fd: Int32) in self.blockLogDescriptors.withLock { $0.contains(fd) } }
        var io = system
        io.open = { path, flags, mode throws(FileIOError) in
            let fd = try system.open(path, flags, mode)
            if path.hasSuffix("/blocks.log") { self.blockLogDescriptors.withLock { _ = $0.insert(fd) } }
            return fd
        }
        io.close = { fd in
            self.blockLogDescriptors.withLock { _ = $0.remove(fd) }
            system.close(fd)
        }
        io.pwrite = { fd, bytes, offset throws(FileIOError) in
            try (isBlockLog(fd) ? faulty : system).pwrite(fd, bytes, offset)
        }
        io.fsync = { fd throws(FileIOError) in try (isBlockLog(fd) ? faulty : system).fsync(fd) }
        io.fdatasync = { fd throws(FileIOError) in try (isBlockLog(fd) ? faulty : system).fdatasync(fd) }
        return io
    }
}

extension Healthledger_V1_Grant {
    /// A PERMIT grant of `actions` on `categories` by `patient`.
    fileprivate static func permit(
        to grantee: String, actions: [Healthledger_V1_Action], categories: [Healthledger_V1_DataCategory],
        patient: String
    ) -> Healthledger_V1_Grant {
        var grant = Healthledger_V1_Grant.permit(to: grantee, actions: actions, categories: categories)
        grant.patient = patient
        return grant
    }
}
