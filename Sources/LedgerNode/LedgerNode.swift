import Glibc
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import Logging
import RPCCore

/// Why a node could not start; one line naming the file or setting at fault.
public struct LedgerNodeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A running single-node ledger: the data directory opened and recovered, the committer started, and the
/// healthledger.v1.Ledger service ready to be served by a gRPC server.
public final class LedgerNode: Sendable {
    /// The service to register with a server.
    public let service: LedgerService
    /// The chain this node serves.
    public let chainID: String
    /// The node's block-signing key.
    public let nodeKey: SigningPublicKey
    /// What recovery found on start.
    public let recovery: Recovery

    let runtime: LedgerRuntime
    private let blockLog: BlockLog
    private let snapshots: SnapshotWriter
    /// The link to the cluster; nil on a single node.
    let coordinator: ClusterCoordinator?

    /// What opening the data directory found.
    public struct Recovery: Sendable {
        /// Blocks read back and verified.
        public var blocks: Int
        /// Bytes of a torn last block cut away (a crash during its append; it was never acknowledged).
        public var truncatedBytes: UInt64
        /// Whether the data directory was created by this start.
        public var createdDataDirectory: Bool
        /// Ledger entries after recovery.
        public var entries: UInt64
        /// Height of the snapshot the state was loaded from (the blocks after it were replayed); nil: full replay.
        public var snapshotHeight: UInt64?
        /// Blocks replayed after the snapshot (all of them without one).
        public var replayedBlocks: Int
    }

    /// Opens (creating on first start) the data directory and recovers the chain: a torn tail is cut away,
    /// every block's hashes, links and signatures are checked again, and the state is rebuilt.
    public static func open(_ configuration: LedgerNodeConfiguration, logger: Logger) throws -> LedgerNode {
        let files = try NodeFiles.prepare(configuration, logger: logger)
        return try open(files: files, configuration: configuration, logger: logger, cluster: nil)
    }

    /// Opens the data directory of a node of a cluster (see docs/REPLICATION.md): joins the cluster in etcd (the
    /// chain id claimed or checked, this node's key registered), recovers the node's own chain (blocks signed by any
    /// registered node), checks that it is a prefix of the cluster's, then follows the cluster and campaigns to lead.
    public static func open(
        _ configuration: LedgerNodeConfiguration, cluster settings: ClusterSettings, logger: Logger
    ) async throws -> LedgerNode {
        let files = try NodeFiles.prepare(configuration, logger: logger)
        let keyspace = ClusterKeyspace(prefix: settings.prefix ?? "/healthledger/\(files.chainID)")
        var keys = try await ClusterCoordinator.registeredKeys(
            etcd: settings.etcd, keyspace: keyspace, chainID: files.chainID)
        // The keys this node learnt of its cluster before: its own chain may hold blocks they signed (after a
        // restore of etcd, say, it seeds the cluster with them).
        for record in try ClusterNodeKeyFile.read(directory: configuration.dataDirectory, fileIO: configuration.fileIO) {
            if let key = try? record.signingKey(), keys[key.keyID] == nil { keys[key.keyID] = key }
        }
        let node = try open(
            files: files, configuration: configuration, logger: logger,
            cluster: (settings: settings, keyspace: keyspace, nodeKeys: keys))
        guard let coordinator = node.coordinator, let committer = node.runtime.committer as? ClusterCommitter else {
            preconditionFailure("a cluster node has a coordinator and a cluster committer")
        }

        do {
            let (height, lastBlockHash) = node.runtime.cell.read { ($0.height, $0.lastBlockHash) }
            let fit = try await coordinator.checkLocalChain(height: height, lastBlockHash: lastBlockHash)
            try await coordinator.claim(
                chainID: files.chainID, rules: configuration.rules, nodeKey: files.nodeKey.publicKey)
            if fit == .seedsEmptyCluster {
                try await coordinator.register(Array(keys.values))
                let blockLog = node.blockLog
                try await coordinator.seed(height: height) { height in try blockLog.readRecord(Int(height) - 1) }
            }
        } catch {
            node.close()
            throw error
        }
        logger.info(
            "joined the cluster",
            metadata: [
                "prefix": "\(keyspace.prefix)", "nodes": "\(node.runtime.cluster?.nodeKeys.current.count ?? 0)",
                "node_key": "\(files.nodeKey.publicKey.keyID)",
            ])
        coordinator.start(committer: committer)
        return node
    }

    private static func open(
        files: NodeFiles, configuration: LedgerNodeConfiguration, logger: Logger,
        cluster: (settings: ClusterSettings, keyspace: ClusterKeyspace, nodeKeys: [String: SigningPublicKey])?
    ) throws -> LedgerNode {
        let fileIO = configuration.fileIO
        var nodeKeys = cluster?.nodeKeys ?? [:]
        nodeKeys[files.nodeKey.publicKey.keyID] = files.nodeKey.publicKey
        // The newest snapshot (periodic or from a clean shutdown) spares replaying the blocks it covers; the blocks
        // after it are replayed and checked as usual. A snapshot that does not fit the log is ignored (full replay).
        let recoveryStarted = ContinuousClock.now
        var snapshotState = loadSnapshot(
            in: files.snapshotDirectory, chainID: files.chainID, fileIO: fileIO, logger: logger)
        var snapshotHeight = snapshotState?.height
        let snapshotEntries = snapshotState?.treeSize ?? 0
        var opened: (log: BlockLog, recovery: BlockLogRecovery)
        var state: LedgerState
        do {
            // The snapshot's state is moved, not copied: the replay of the tail then changes it in place.
            (opened, state) = try replay(
                files: files, fileIO: fileIO, from: snapshotState.take(), rules: configuration.rules,
                nodeKeys: nodeKeys)
        } catch let mismatch as SnapshotMismatch {
            logger.warning(
                "the snapshot does not match the block log; replaying it all", metadata: ["reason": "\(mismatch.reason)"])
            snapshotHeight = nil
            (opened, state) = try replay(
                files: files, fileIO: fileIO, from: nil, rules: configuration.rules, nodeKeys: nodeKeys)
        }
        if opened.recovery.truncatedBytes > 0 {
            logger.warning(
                "cut away a torn last block (never acknowledged)",
                metadata: [
                    "bytes": "\(opened.recovery.truncatedBytes)", "reason": "\(opened.recovery.tornTail ?? "")",
                ])
        }
        let contentStore: RecordContentStore
        do {
            contentStore = try RecordContentStore.open(
                directory: files.contentDirectory, masterKey: files.masterKey, fileIO: fileIO)
        } catch {
            opened.log.close()
            throw LedgerNodeError("\(error)")
        }
        destroyErasedContent(in: state, contentStore: contentStore, logger: logger)
        let replayedBlocks = opened.recovery.recordCount - Int(snapshotHeight ?? 0)
        logger.info(
            "recovered the chain",
            metadata: [
                "height": "\(state.height)", "entries": "\(state.treeSize)",
                "snapshot_height": "\(snapshotHeight.map(String.init) ?? "none")",
                "replayed_blocks": "\(replayedBlocks)", "ms": "\(milliseconds(since: recoveryStarted))",
            ])
        let cell = LedgerStateCell(state)
        // Replayed blocks count as uncommitted to a snapshot: a long replay (after a crash) makes one due at once.
        let trigger = SnapshotTrigger(
            schedule: configuration.snapshots, coveredHeight: snapshotHeight,
            coveredEntries: snapshotHeight == nil ? 0 : snapshotEntries, committedEntries: state.treeSize,
            now: SnapshotWriter.now())
        let snapshots = SnapshotWriter(
            cell: cell, directory: files.snapshotDirectory, trigger: trigger, logger: logger,
            write: { bytes, height, directory throws(StorageError) in
                try SnapshotFile.write(bytes, height: height, to: directory, fileIO: fileIO)
            })
        var coordinator: ClusterCoordinator?
        var context: ClusterContext?
        if let cluster {
            let keyFileDirectory = configuration.dataDirectory
            let keyFileLogger = logger
            let clusterKeys = ClusterNodeKeys(nodeKeys) { keys in
                do { try ClusterNodeKeyFile.write(keys, directory: keyFileDirectory, fileIO: fileIO) } catch {
                    keyFileLogger.error("could not keep the cluster's node keys", metadata: ["error": "\(error)"])
                }
            }
            try ClusterNodeKeyFile.write(Array(nodeKeys.values), directory: keyFileDirectory, fileIO: fileIO)
            let joined = ClusterCoordinator(
                etcd: cluster.settings.etcd, keyspace: cluster.keyspace, nodeID: files.nodeKey.publicKey.keyID,
                advertisedAddress: cluster.settings.advertisedAddress, leaseTTLSeconds: cluster.settings.leaseTTLSeconds,
                nodeKeys: clusterKeys, logger: logger, appliedHeight: { cell.read { $0.height } })
            coordinator = joined
            let ordering = EtcdClusterOrdering(etcd: cluster.settings.etcd, keyspace: cluster.keyspace, logger: logger)
            context = ClusterContext(
                ordering: ordering, readIndex: ReadIndexBatcher(read: { () async throws(RPCError) in try await ordering.headHeight() }),
                nodeKeys: clusterKeys, heights: HeightWaiters(height: cell.read { $0.height }),
                maxBlockBytes: cluster.settings.maxBlockBytes, readIndexTimeout: cluster.settings.readIndexTimeout,
                // Weak: the coordinator holds the committer, which holds this.
                onLeadershipLost: { [weak joined] fence in joined?.leadershipLost(fence) })
        }
        let runtime = LedgerRuntime(
            configuration: configuration, chainID: files.chainID, cell: cell, blockLog: opened.log,
            sealer: BlockSealer(nodeKey: files.nodeKey), contentStore: contentStore,
            researchSecret: files.researchSecret, logger: logger, cluster: context,
            onCommit: { draft in snapshots.blockCommitted(entries: draft.nextEntryIndex) })
        let recovery = Recovery(
            blocks: opened.recovery.recordCount, truncatedBytes: opened.recovery.truncatedBytes,
            createdDataDirectory: files.created, entries: cell.read { $0.treeSize },
            snapshotHeight: snapshotHeight, replayedBlocks: replayedBlocks)
        let node = LedgerNode(
            runtime: runtime, blockLog: opened.log, nodeKey: files.nodeKey.publicKey, recovery: recovery,
            snapshots: snapshots, coordinator: coordinator)
        runtime.committer.start()
        snapshots.start()
        return node
    }

    /// Deletes again what committed erasures should have destroyed. An erasure is committed before its content is
    /// deleted, so a crash or a failing disk in between leaves content files that nothing serves, while the patient
    /// was promised they are gone. Content a live record of the patient shares is kept.
    private static func destroyErasedContent(in state: LedgerState, contentStore: RecordContentStore, logger: Logger) {
        for patient in state.records.patientsWithErasedRecords {
            let records = state.records.entries(of: patient)
            let live = Set(records.lazy.filter { !$0.contentErased }.map(\.contentSha256))
            for record in records where record.contentErased {
                let hash = record.contentSha256
                guard !live.contains(hash), contentStore.contains(patient: patient, sha256: hash) else { continue }
                do { try contentStore.erase(patient: patient, sha256: hash) } catch {
                    logger.error(
                        "could not delete the content of an erased record",
                        metadata: ["record": "\(record.id)", "error": "\(error)"])
                }
            }
        }
    }

    private init(
        runtime: LedgerRuntime, blockLog: BlockLog, nodeKey: SigningPublicKey, recovery: Recovery,
        snapshots: SnapshotWriter, coordinator: ClusterCoordinator?
    ) {
        self.runtime = runtime
        self.coordinator = coordinator
        self.snapshots = snapshots
        self.blockLog = blockLog
        self.nodeKey = nodeKey
        self.recovery = recovery
        chainID = runtime.chainID
        service = LedgerService(runtime: runtime)
    }

    /// Commits the first, empty block of a new chain, so clients have a head and checkpoint from the start.
    public func ensureGenesisBlock() async throws {
        guard runtime.cell.read({ $0.height }) == 0 else { return }
        if let cluster = runtime.cluster {
            // The first node to lead a new cluster commits it; every node waits until it has applied it.
            guard await cluster.heights.wait(until: 1, timeout: .seconds(60)) else {
                throw LedgerNodeError("the cluster has no first block after 60 s: is a node leading? (see the log)")
            }
            return
        }
        try await runtime.commitEmptyBlock()
    }

    /// Leaves the cluster before a shutdown: stops following and campaigning, and gives up a held leadership at
    /// once (its lease revoked), so another node takes over without waiting for the lease to end. Nothing on a
    /// single node.
    public func leaveCluster() async {
        await coordinator?.stop()
    }

    /// Current height and log size.
    public var head: (height: UInt64, treeSize: UInt64, auditSequence: UInt64) {
        runtime.cell.read { ($0.height, $0.treeSize, $0.auditSequence) }
    }

    /// Ends every live AuditStream and GetBlocks follower with UNAVAILABLE and the position to resume from, and
    /// refuses new ones the same way: the first step of a shutdown, so followers need not wait out its grace period.
    public func endFollowers() {
        runtime.feed.close()
    }

    /// Finishes the block being committed, ends live followers, waits for a background snapshot being written,
    /// writes a snapshot of the final state unless the newest one already covers it (so the next start need not
    /// replay the log), and closes the block log.
    public func close() {
        runtime.committer.stop()
        runtime.feed.close()
        let covered = snapshots.stop()
        let state = runtime.cell.read { $0 }
        if covered != state.height { snapshots.writeSnapshot(of: state) }
        blockLog.close()
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        milliseconds(from: start, to: .now)
    }

    private static func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Int64 {
        let elapsed = end - start
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    private struct SnapshotMismatch: Error {
        var reason: String
    }

    private static func loadSnapshot(in directory: String, chainID: String, fileIO: FileIO, logger: Logger)
        -> LedgerState?
    {
        let started = ContinuousClock.now
        do {
            // Decoded where the file is mapped; the state keeps nothing of the mapping.
            let skipped = { (error: StorageError) in
                logger.warning("skipping a damaged snapshot", metadata: ["error": "\(error)"])
            }
            let loaded = try SnapshotFile.withLatest(in: directory, fileIO: fileIO, skipped: skipped) { height, bytes in
                let state = Result { () throws(SnapshotError) in try LedgerState.restore(snapshotBytes: bytes) }
                return (height, bytes.count, state)
            }
            guard let (height, byteCount, restored) = loaded else { return nil }
            let state = try restored.get()
            guard state.chainID == chainID, state.height == height else {
                logger.warning("ignoring a snapshot of another chain or height")
                return nil
            }
            logger.info(
                "loaded a snapshot",
                metadata: [
                    "height": "\(state.height)", "entries": "\(state.treeSize)", "bytes": "\(byteCount)",
                    "ms": "\(milliseconds(since: started))",
                ])
            return state
        } catch {
            logger.warning("ignoring an unusable snapshot; replaying the block log", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Opens the block log, replaying (with every check) the blocks that `snapshot` does not cover. Throws
    /// SnapshotMismatch when the snapshot is not a prefix of this log.
    private static func replay(
        files: NodeFiles, fileIO: FileIO, from snapshot: consuming LedgerState?, rules: LedgerRules,
        nodeKeys: [String: SigningPublicKey]
    ) throws -> ((log: BlockLog, recovery: BlockLogRecovery), LedgerState) {
        let covered = snapshot?.height ?? 0
        var state = snapshot.take() ?? LedgerState(chainID: files.chainID)
        var index: UInt64 = 0
        var failure: Error?
        let opened: (log: BlockLog, recovery: BlockLogRecovery)
        do {
            opened = try BlockLog.open(path: files.blockLogPath, fileIO: fileIO) { (payload) throws(StorageError) in
                index += 1
                if index < covered { return }
                if index == covered {
                    // The snapshot's last block must be this very block.
                    let header = (try? StoredBlock(serializedBytes: Array(payload)))?.header?.header
                    if header.map({ SHA256.hash($0) }) != state.lastBlockHash {
                        failure = SnapshotMismatch(reason: "block \(index) differs from the snapshot's last block")
                        throw StorageError.corrupt("snapshot mismatch")
                    }
                    return
                }
                do throws(ChainVerificationError) {
                    try BlockReplay.apply(
                        Array(payload), to: &state, rules: rules, nodeKeys: nodeKeys, verifySignatures: false)
                } catch {
                    failure = LedgerNodeError("\(files.blockLogPath): the chain does not verify at \(error)")
                    throw StorageError.corrupt(error.description)
                }
            }
        } catch {
            throw failure ?? LedgerNodeError("\(error)")
        }
        if index < covered {
            opened.log.close()
            throw SnapshotMismatch(reason: "the block log has \(index) blocks, the snapshot \(covered)")
        }
        // Links and roots were checked block by block; the head's signatures now vouch for all of them.
        do {
            try BlockReplay.verifyHeadSignatures(of: state, nodeKeys: nodeKeys)
        } catch {
            opened.log.close()
            throw LedgerNodeError("\(files.blockLogPath): the chain does not verify at \(error)")
        }
        return (opened, state)
    }
}
