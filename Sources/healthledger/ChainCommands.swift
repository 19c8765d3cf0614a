import ArgumentParser
import Foundation
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore

/// `healthledger audit`: who accessed a patient's data, allowed or denied.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show a patient's audit trail: every access decision, allowed or denied.",
        discussion: """
            The patient and AUDIT_READ holders see every event of the patient; anyone else
            sees the events of their own actions. --follow keeps the stream open and
            prints events as they are committed (Ctrl-C ends it); with --json, each event
            is one JSON line.

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
            while true {
                do {
                    for try await message in try await client.auditStream(request) {
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
                    continue  // the session expired mid-stream: resume after the last event with a new one
                }
            }
            if printed == 0 && !options.json { CommandOutput.note("no audit events") }
        }
    }

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
            if options.json {
                CommandOutput.json([
                    "chain_id": head.chainId, "height": head.height, "tree_size": head.treeSize,
                    "head_block_hash": blockHash, "head_time_unix_ms": header?.timeUnixMs ?? 0, "node_key_id": nodeKey,
                    "server_time_unix_ms": head.serverTimeUnixMs, "server": options.serverText,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("server", options.serverText), ("chain id", head.chainId), ("height", "\(head.height)"),
                        ("log size", "\(head.treeSize) entries"), ("head block hash", blockHash),
                        ("head time", header.map { CommandLineVocabulary.display(unixMs: $0.timeUnixMs) } ?? "-"),
                        ("node key", nodeKey),
                    ]).rendered())
            }
        }
    }
}

/// `healthledger verify`: checks the chain's signed headers rather than trusting the node.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the chain: every block header's hash link, entry range and node signature.",
        discussion: """
            Fetches every signed block header from height 1 (GetBlocks) and checks that
            each names this chain, follows the previous one (height, previous-block hash,
            entry range, time) and is signed by a node key in force at its height; then
            that the node's signed checkpoint commits to exactly the log the last header
            ends. Exits 0 when all holds, 1 at the first block that fails, naming it.

            Examples:
              healthledger verify
              healthledger verify --json
            """)

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withStub { stub in
            let head = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
            var verifier = try ChainVerifier(chainID: head.chainId, nodeKeys: head.nodeKeys)
            var progress = ProgressBar(total: head.height, label: "verifying", unit: "blocks", hidden: options.json)
            do {
                if head.height > 0 {
                    var request = Healthledger_V1_GetBlocksRequest()
                    request.startHeight = 1
                    request.endHeight = head.height + 1
                    for try await message in try await stub.getBlocks(request) {
                        try verifier.check(message.block ?? Healthledger_V1_SignedBlockHeader())
                        progress.update(verifier.checkedHeight)
                    }
                }
                progress.finish()
                guard verifier.checkedHeight == head.height else {
                    throw ChainVerificationError(
                        height: verifier.checkedHeight + 1, "the node sent \(verifier.checkedHeight) of \(head.height) blocks")
                }
                try verifier.finish(checkpoint: head.checkpoint ?? Healthledger_V1_SignedCheckpoint())
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
}
