import ArgumentParser
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import RPCCore

/// `healthledger audit`: who accessed a patient's data, allowed or denied.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show a patient's audit trail: every access decision, allowed or denied.",
        discussion: """
            The patient and AUDIT_READ holders see every event of the patient; anyone else
            sees the events of their own actions. --follow keeps the stream open and
            prints events as they are committed (Ctrl-C ends it), reconnecting when the
            node restarts; with --json, each event is one JSON line.

            Every event comes with its inclusion proof, checked against a checkpoint
            signed by a pinned node key and consistent with the last checkpoint seen
            (kept in the checkpoint file): a node that rewrote or forked its history
            stops the command with exit code 6.

            Examples:
              healthledger audit
              healthledger audit --follow
              healthledger audit --patient hl1q... --from 120 --json
              healthledger audit --outcome denied --emergency-only
            """)

    @Option(name: .long, help: "Principal id of the patient (default: you).")
    var patient: String?
    @Flag(name: .long, help: "Keep printing new events as they are committed.")
    var follow = false
    @Option(name: .long, help: "First audit sequence number to show (1: everything).")
    var from: UInt64 = 1
    @Option(name: .long, help: "Only events of this actor (principal id).")
    var actor: String?
    @Option(name: .long, help: "Only allowed or only denied events.")
    var outcome: String?
    @Flag(name: .long, help: "Only break-glass emergency events.")
    var emergencyOnly = false
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client in
            var request = Healthledger_V1_AuditStreamRequest()
            let me = await client.identity.id
            request.patient = try patient.map { try GrantCommand.principal($0) } ?? me
            request.startSequence = from
            request.follow = follow
            request.emergencyOnly = emergencyOnly
            if let actor { request.actor = try GrantCommand.principal(actor) }
            switch outcome?.lowercased() {
            case nil: break
            case "allowed": request.outcome = .allowed
            case "denied": request.outcome = .denied
            case let other?: throw InvalidInput("unknown outcome \"\(other)\"", hint: "valid outcomes: allowed, denied")
            }
            let columns = [6, 20, 41, 10, 7, 15, 17, 7]
            if !options.json {
                CommandOutput.write(
                    Self.row(["SEQ", "TIME", "ACTOR", "ACTION", "OUTCOME", "PURPOSE", "BASIS", "RECORDS", "CATEGORIES"], columns))
            }
            var printed = 0
            var connected = false
            var lostSince: ContinuousClock.Instant?
            while true {
                do {
                    for try await message in try await client.auditStream(request) {
                        connected = true
                        lostSince = nil
                        guard case .event(let logged)? = message.item, let event = logged.event else { continue }
                        request.startSequence = event.sequence + 1
                        printed += 1
                        if options.json {
                            CommandOutput.json(Self.object(event))
                        } else {
                            CommandOutput.write(Self.row(Self.cells(event), columns))
                        }
                    }
                    break
                } catch let error as RPCError where follow && error.code == .unauthenticated {
                    // The session expired mid-stream, or a restarted node does not know it: resume after the last
                    // event with a new one.
                    await client.forgetSession()
                    continue
                } catch let error as RPCError where follow && connected && error.code == .unavailable {
                    // The node went away (restart, upgrade): resume after the last event once it is back, checking
                    // that it still serves the history seen before.
                    let now = ContinuousClock.now
                    let since = lostSince ?? now
                    lostSince = since
                    guard now - since < Self.reconnectLimit else { throw error }
                    try await Task.sleep(for: .milliseconds(500))
                    await client.forgetSession()
                    continue
                }
            }
            if printed == 0 && !options.json { CommandOutput.note("no audit events") }
        }
    }

    /// How long --follow keeps trying to reach a node that went away before giving up.
    static let reconnectLimit: Duration = .seconds(120)

    static func row(_ cells: [String], _ widths: [Int]) -> String {
        cells.enumerated().map { column, cell in
            column < widths.count ? cell.padding(toLength: max(widths[column], cell.count), withPad: " ", startingAt: 0) : cell
        }.joined(separator: "  ") + "\n"
    }

    static func cells(_ event: Healthledger_V1_AuditEvent) -> [String] {
        [
            "\(event.sequence)", CommandLineVocabulary.display(unixMs: event.timeUnixMs), event.actor,
            actionName(event.action), event.outcome == .allowed ? "allowed" : "denied",
            CommandLineVocabulary.name(of: event.purpose, in: CommandLineVocabulary.purposes),
            basisName(event.basis) + (event.emergency ? "!" : ""),
            "\(event.releasedRecords.count)",
            event.categories.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories) }
                .joined(separator: ","),
        ]
    }

    static func object(_ event: Healthledger_V1_AuditEvent) -> [String: Any] {
        var object: [String: Any] = [
            "sequence": event.sequence, "time_unix_ms": event.timeUnixMs, "actor": event.actor,
            "patient": event.patient, "action": actionName(event.action),
            "outcome": event.outcome == .allowed ? "allowed" : "denied",
            "purpose": CommandLineVocabulary.name(of: event.purpose, in: CommandLineVocabulary.purposes),
            "basis": basisName(event.basis), "reason": event.reason, "emergency": event.emergency,
            "categories": event.categories.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories) },
            "released_record_ids": event.releasedRecords.map(\.recordId), "deciding_grant_ids": event.decidingGrantIds,
            "block_height": event.blockHeight, "entry_index": event.entryIndex,
        ]
        if let access = event.emergencyAccessId { object["emergency_access_id"] = access }
        return object
    }

    static func actionName(_ action: Healthledger_V1_Action) -> String {
        CommandLineVocabulary.name(of: action, in: CommandLineVocabulary.actions)
    }

    static func basisName(_ basis: Healthledger_V1_DecisionBasis) -> String {
        switch basis {
        case .patientSelf: "patient-self"
        case .permitGrant: "permit-grant"
        case .emergencyAccess: "emergency-access"
        case .denyGrant: "deny-grant"
        case .noPermit: "no-permit"
        default: "unspecified"
        }
    }
}

/// `healthledger status`: the node's chain at a glance.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the node's chain id, head height, log size and node key.",
        discussion: """
            Public: needs no identity file.

            Examples:
              healthledger status
              healthledger status --server ledger.example.org:443 --ca-file ca.pem
              healthledger status --plaintext --server 127.0.0.1:7080 --json
            """)

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withStub { stub in
            let head = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
            let blockHash = Hex.encode(SHA256.hash(head.head?.header ?? []))
            let header = try? Healthledger_V1_BlockHeader(serializedBytes: head.head?.header ?? [])
            let nodeKey = head.head?.nodeKeyId ?? ""
            // Of a cluster, the node that answered.
            let transport = stub.transport
            let server = transport.endpoints.count > 1 ? "\(transport.currentEndpoint)" : options.serverText
            if options.json {
                CommandOutput.json([
                    "chain_id": head.chainId, "height": head.height, "tree_size": head.treeSize,
                    "head_block_hash": blockHash, "head_time_unix_ms": header?.timeUnixMs ?? 0, "node_key_id": nodeKey,
                    "server_time_unix_ms": head.serverTimeUnixMs, "server": server,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("server", server), ("chain id", head.chainId), ("height", "\(head.height)"),
                        ("log size", "\(head.treeSize) entries"), ("head block hash", blockHash),
                        ("head time", header.map { CommandLineVocabulary.display(unixMs: $0.timeUnixMs) } ?? "-"),
                        ("node key", nodeKey),
                    ]).rendered())
            }
        }
    }
}

/// `healthledger verify`: checks the chain rather than trusting the node: a server's signed headers and checkpoint, or
/// every block, entry, root and signature of a data directory.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the chain: hash links, entries, Merkle roots, node signatures and checkpoints.",
        discussion: """
            Against a server (the default), fetches every signed block header from height
            1 (GetBlocks) and checks that each names this chain, follows the previous one
            (height, previous-block hash, entry range, time) and is signed by a node key in
            force at its height; then that the node's signed checkpoint commits to exactly
            the log the last header ends.

            With --data-dir, reads a node's data directory without a node and without
            changing it (run it on a stopped node's directory or a copy): every frame's
            checksum; every block's header as above; every entry decodes and every audit
            event names its own block, log index and the next audit sequence number; the
            entries hash (RFC 9162 leaves) to the header's entries root and the whole log
            to its tree root; every block's checkpoint is signed and commits to that log
            (each checkpoint's tree is a prefix of the next, as the tree is rebuilt leaf by
            leaf). Snapshots are not read. --transactions also verifies every transaction's
            author signature (slower). --head-signatures-only verifies the node
            signatures of the last block only, as a starting node does (every header names
            the previous one's hash, so the head's signature vouches for every header and
            checkpoint before it): faster on long chains. --node-key-id checks that the directory's node key
            is the one you expect: whoever holds a data directory holds its signing key.

            Exits 0 when all holds, 1 at the first inconsistency, naming the block (and
            the entry's log index when one entry is at fault).

            Examples:
              healthledger verify
              healthledger verify --json
              healthledger verify --data-dir /var/lib/healthledger
              healthledger verify --data-dir backup/ --transactions --node-key-id 3f1c...
            """)

    @Option(name: .customLong("data-dir"), help: "Verify this node data directory offline instead of a server.")
    var dataDirectory: String?
    @Flag(name: .long, help: "With --data-dir: also verify every transaction's author signature.")
    var transactions = false
    @Option(name: .customLong("node-key-id"), help: "With --data-dir: the node key id the directory must hold.")
    var nodeKeyID: String?
    @Flag(
        name: .customLong("head-signatures-only"),
        help: "With --data-dir: verify the node signatures of the last block only (the hash links vouch for the rest).")
    var headSignaturesOnly = false
    @OptionGroup var options: ClientOptions

    func validate() throws {
        if dataDirectory == nil && (transactions || nodeKeyID != nil || headSignaturesOnly) {
            throw ValidationError("--transactions, --node-key-id and --head-signatures-only go with --data-dir")
        }
    }

    func run() async throws {
        if let dataDirectory {
            try await reportingFailures { try verifyDirectory(dataDirectory) }
        } else {
            try await verifyServer()
        }
    }

    private func verifyDirectory(_ directory: String) throws {
        let verification = DataDirectoryVerification(
            directory: directory, verifyingTransactions: transactions,
            verifyingHeadSignaturesOnly: headSignaturesOnly, expectedNodeKeyID: nodeKeyID,
            showsProgress: !options.json)
        let summary = try verification.run()
        let headHash = Hex.encode(summary.headHash)
        let root = Hex.encode(summary.treeRoot)
        let seconds = (summary.seconds * 100).rounded() / 100
        if options.json {
            CommandOutput.json([
                "chain_id": summary.chainID, "verified": true, "data_dir": directory, "height": summary.blocks,
                "tree_size": summary.entries, "audit_events": summary.auditEvents,
                "transaction_signatures_verified": summary.transactionSignatures,
                "node_signatures_verified": summary.nodeSignaturesVerified, "head_block_hash": headHash,
                "root_hash": root, "node_key_id": summary.nodeKeyID, "seconds": seconds,
            ])
        } else {
            CommandOutput.write(
                FieldList(fields: [
                    ("chain id", summary.chainID), ("verified", "\(summary.blocks) blocks"),
                    ("log size", "\(summary.entries) entries (\(summary.auditEvents) audit events)"),
                    ("node signatures", "\(summary.nodeSignaturesVerified) verified"),
                    (
                        "transaction signatures",
                        transactions ? "\(summary.transactionSignatures) verified" : "not checked"
                    ),
                    ("head block hash", headHash), ("root hash", root), ("node key", summary.nodeKeyID),
                    ("time", "\(seconds) s"),
                ]).rendered())
        }
    }

    private func verifyServer() async throws {
        try await options.withClient(publicCallsOnly: true) { client in
            // The head must extend what this machine saw of the chain before (the checkpoint file), which is then
            // moved on to it.
            guard let head = try await client.checkChainHead() else {
                throw CommandFailure(.failure, "the client was made without history checks", hint: "this is a bug; report it")
            }
            let stub = client.stub
            var verifier = try ChainVerifier(chainID: head.chainId, nodeKeys: head.nodeKeys)
            var logEnds: [LogEnd] = []
            var progress = ProgressBar(total: head.height, label: "verifying", unit: "blocks", hidden: options.json)
            do {
                if head.height > 0 {
                    var request = Healthledger_V1_GetBlocksRequest()
                    request.startHeight = 1
                    request.endHeight = head.height + 1
                    for try await message in try await stub.getBlocks(request) {
                        let block = message.block ?? Healthledger_V1_SignedBlockHeader()
                        try verifier.check(block)
                        let header = try Healthledger_V1_BlockHeader(serializedBytes: block.header)
                        logEnds.append(
                            LogEnd(
                                height: header.height, treeSize: header.firstEntryIndex + UInt64(header.entryCount),
                                rootHash: header.treeRootHash))
                        progress.update(verifier.checkedHeight)
                    }
                }
                progress.finish()
                guard verifier.checkedHeight == head.height else {
                    throw ChainVerificationError(
                        height: verifier.checkedHeight + 1, "the node sent \(verifier.checkedHeight) of \(head.height) blocks")
                }
                try verifier.finish(checkpoint: head.checkpoint ?? Healthledger_V1_SignedCheckpoint())
                try await checkConsistency(of: logEnds, stub: stub)
            } catch let problem as ChainVerificationError {
                progress.finish()
                throw CommandFailure(
                    .failure, "chain \(head.chainId) does not verify: \(problem)",
                    hint: "the node's history or keys were altered or damaged; keep this output and tell its operator")
            }
            let headHash = Hex.encode(verifier.headHash)
            if options.json {
                CommandOutput.json([
                    "chain_id": head.chainId, "verified": true, "height": verifier.checkedHeight,
                    "tree_size": verifier.treeSize, "head_block_hash": headHash,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("chain id", head.chainId), ("verified", "\(verifier.checkedHeight) blocks"),
                        ("log size", "\(verifier.treeSize) entries"), ("head block hash", headHash),
                    ]).rendered())
            }
        }
    }

    /// The log's size and root at the end of a block, from its verified header.
    private struct LogEnd {
        var height: UInt64
        var treeSize: UInt64
        var rootHash: [UInt8]
    }

    /// Checks that the log at the end of each block is a prefix of the log at the end of the next, with the node's
    /// consistency proofs (RFC 9162 section 2.1.4), a window of calls in flight at once: the headers alone sign each
    /// block's root but do not show that a later log kept the earlier entries.
    private func checkConsistency(
        of ends: [LogEnd], stub: Healthledger_V1_LedgerClient<FailoverClientTransport>
    ) async throws {
        let steps = zip(ends, ends.dropFirst()).filter { $0.0.treeSize > 0 }
        var progress = ProgressBar(
            total: UInt64(steps.count), label: "consistency", unit: "blocks", hidden: options.json || steps.isEmpty)
        defer { progress.finish() }
        let window = 64
        var checked: UInt64 = 0
        for start in stride(from: 0, to: steps.count, by: window) {
            let slice = steps[start..<min(start + window, steps.count)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (older, newer) in slice {
                    group.addTask {
                        if older.treeSize == newer.treeSize {
                            guard older.rootHash == newer.rootHash else {
                                throw ChainVerificationError(
                                    height: newer.height, "block \(newer.height) states another root for the same log")
                            }
                            return
                        }
                        var request = Healthledger_V1_GetConsistencyProofRequest()
                        request.firstTreeSize = older.treeSize
                        request.secondTreeSize = newer.treeSize
                        let proof = try await stub.getConsistencyProof(request).proof
                        guard
                            MerkleVerification.isValidConsistency(
                                firstSize: older.treeSize, secondSize: newer.treeSize, firstRoot: older.rootHash,
                                secondRoot: newer.rootHash, proof: proof?.consistencyPath ?? [])
                        else {
                            throw ChainVerificationError(
                                height: newer.height,
                                "the log at the end of block \(newer.height) does not extend the log at the end of block \(older.height)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            checked += UInt64(slice.count)
            progress.update(checked)
        }
    }
}
