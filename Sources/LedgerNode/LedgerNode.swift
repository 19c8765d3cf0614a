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
    }

    /// Opens (creating on first start) the data directory and recovers the chain: a torn tail is cut away,
    /// every block's hashes, links and signatures are checked again, and the state is rebuilt.
    public static func open(_ configuration: LedgerNodeConfiguration, logger: Logger) throws -> LedgerNode {
        let files = try NodeFiles.prepare(configuration, logger: logger)
        var state = LedgerState(chainID: files.chainID)
        let nodeKeys = [files.nodeKey.publicKey.keyID: files.nodeKey.publicKey]
        var replayFailure: ChainVerificationError?
        let opened: (log: BlockLog, recovery: BlockLogRecovery)
        do {
            opened = try BlockLog.open(path: files.blockLogPath) { (payload) throws(StorageError) in
                do throws(ChainVerificationError) {
                    try BlockReplay.apply(
                        Array(payload), to: &state, rules: configuration.rules, nodeKeys: nodeKeys)
                } catch {
                    replayFailure = error
                    throw StorageError.corrupt(error.description)
                }
            }
        } catch {
            if let replayFailure {
                throw LedgerNodeError("\(files.blockLogPath): the chain does not verify at \(replayFailure)")
            }
            throw LedgerNodeError("\(error)")
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
            contentStore = try RecordContentStore.open(directory: files.contentDirectory, masterKey: files.masterKey)
        } catch {
            opened.log.close()
            throw LedgerNodeError("\(error)")
        }
        let cell = LedgerStateCell(state)
        let runtime = LedgerRuntime(
            configuration: configuration, chainID: files.chainID, cell: cell, blockLog: opened.log,
            sealer: BlockSealer(nodeKey: files.nodeKey), contentStore: contentStore, logger: logger)
        let recovery = Recovery(
            blocks: opened.recovery.recordCount, truncatedBytes: opened.recovery.truncatedBytes,
            createdDataDirectory: files.created, entries: cell.read { $0.treeSize })
        let node = LedgerNode(runtime: runtime, blockLog: opened.log, nodeKey: files.nodeKey.publicKey, recovery: recovery)
        runtime.committer.start()
        return node
    }

    private init(runtime: LedgerRuntime, blockLog: BlockLog, nodeKey: SigningPublicKey, recovery: Recovery) {
        self.runtime = runtime
        self.blockLog = blockLog
        self.nodeKey = nodeKey
        self.recovery = recovery
        chainID = runtime.chainID
        service = LedgerService(runtime: runtime)
    }

    /// Commits the first, empty block of a new chain, so clients have a head and checkpoint from the start.
    public func ensureGenesisBlock() async throws {
        guard runtime.cell.read({ $0.height }) == 0 else { return }
        try await runtime.commitEmptyBlock()
    }

    /// Current height and log size.
    public var head: (height: UInt64, treeSize: UInt64, auditSequence: UInt64) {
        runtime.cell.read { ($0.height, $0.treeSize, $0.auditSequence) }
    }

    /// Finishes the block being committed, ends live followers, and closes the block log.
    public func close() {
        runtime.committer.stop()
        runtime.feed.finishAll()
        blockLog.close()
    }
}
