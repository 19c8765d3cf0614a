import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire

/// Checks a chain's signed block headers, fed in height order from block 1: each belongs to the chain, follows the
/// previous one (height, hash link, entry range, time) and carries a valid signature by the node key in force at its
/// height; `finish` then checks the node's signed checkpoint against the last header. Pure: no I/O.
public struct ChainVerifier: Sendable {
    /// The chain being checked.
    public let chainID: String
    /// Headers checked so far.
    public private(set) var checkedHeight: UInt64 = 0
    /// Entries covered by the headers checked so far.
    public private(set) var treeSize: UInt64 = 0
    /// Hash of the last header checked (32 zero bytes before block 1).
    public private(set) var headHash = [UInt8](repeating: 0, count: 32)
    private var lastTime: Int64 = .min
    private var lastTreeRoot: [UInt8] = []
    private let nodeKeys: [(record: Healthledger_V1_NodeKey, key: SigningPublicKey)]

    /// A verifier for `chainID` whose blocks are signed by `nodeKeys` (GetChainHead.node_keys).
    public init(chainID: String, nodeKeys: [Healthledger_V1_NodeKey]) throws(ChainVerificationError) {
        self.chainID = chainID
        var keys: [(Healthledger_V1_NodeKey, SigningPublicKey)] = []
        for nodeKey in nodeKeys {
            let wire = nodeKey.publicKey ?? Healthledger_V1_PublicKey()
            do {
                let key = try SigningPublicKey(
                    algorithm: wire.algorithm == .ecdsaP256 ? .ecdsaP256 : .ed25519, rawBytes: wire.keyBytes)
                guard key.keyID == nodeKey.keyId else {
                    throw ChainVerificationError(height: 0, "node key \(nodeKey.keyId) does not match its key bytes")
                }
                keys.append((nodeKey, key))
            } catch let error as ChainVerificationError {
                throw error
            } catch {
                throw ChainVerificationError(height: 0, "node key \(nodeKey.keyId) is unusable: \(error)")
            }
        }
        self.nodeKeys = keys
    }

    /// Checks the next header; throws at the first problem, naming the height.
    public mutating func check(_ signed: Healthledger_V1_SignedBlockHeader) throws(ChainVerificationError) {
        let expected = checkedHeight + 1
        let header: Healthledger_V1_BlockHeader
        do {
            header = try Healthledger_V1_BlockHeader(serializedBytes: signed.header)
        } catch {
            throw ChainVerificationError(height: expected, "header does not decode: \(error)")
        }
        guard header.chainId == chainID else {
            throw ChainVerificationError(height: expected, "chain id \(header.chainId), expected \(chainID)")
        }
        guard header.height == expected else {
            throw ChainVerificationError(height: expected, "height \(header.height) where \(expected) was due")
        }
        guard header.previousBlockHash == headHash else {
            throw ChainVerificationError(height: expected, "previous-block hash does not match block \(checkedHeight)")
        }
        guard header.firstEntryIndex == treeSize else {
            throw ChainVerificationError(
                height: expected, "first entry \(header.firstEntryIndex), expected \(treeSize) after the previous block")
        }
        guard header.timeUnixMs >= lastTime else {
            throw ChainVerificationError(height: expected, "time goes backwards")
        }
        guard let signer = key(named: signed.nodeKeyId, at: expected) else {
            throw ChainVerificationError(
                height: expected, "signed by node key \(signed.nodeKeyId), which is not in force at this height")
        }
        let message = ContextLabel.message(context: ContextLabel.blockHeader, payload: signed.header)
        guard signer.isValidSignature(signed.signature, for: message) else {
            throw ChainVerificationError(height: expected, "node signature does not verify")
        }
        checkedHeight = expected
        treeSize = header.firstEntryIndex + UInt64(header.entryCount)
        headHash = SHA256.hash(signed.header)
        lastTime = header.timeUnixMs
        lastTreeRoot = header.treeRootHash
    }

    /// Checks that `checkpoint` is validly signed and commits to exactly the log the last header ends.
    public func finish(checkpoint signed: Healthledger_V1_SignedCheckpoint) throws(ChainVerificationError) {
        let checkpoint: Healthledger_V1_Checkpoint
        do {
            checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint)
        } catch {
            throw ChainVerificationError(height: checkedHeight, "checkpoint does not decode: \(error)")
        }
        guard let signer = key(named: signed.nodeKeyId, at: checkpoint.blockHeight),
            signer.isValidSignature(
                signed.signature,
                for: ContextLabel.message(context: ContextLabel.checkpoint, payload: signed.checkpoint))
        else {
            throw ChainVerificationError(height: checkedHeight, "checkpoint signature does not verify")
        }
        guard checkpoint.chainId == chainID, checkpoint.blockHeight == checkedHeight,
            checkpoint.treeSize == treeSize, checkpoint.rootHash == lastTreeRoot
        else {
            throw ChainVerificationError(
                height: checkedHeight,
                "checkpoint (height \(checkpoint.blockHeight), \(checkpoint.treeSize) entries) does not match the last block")
        }
    }

    private func key(named keyID: String, at height: UInt64) -> SigningPublicKey? {
        nodeKeys.first { entry in
            entry.record.keyId == keyID && entry.record.validFromHeight <= height
                && (entry.record.validUntilHeight.map { height <= $0 } ?? true)
        }?.key
    }
}

/// Why a chain failed verification: the height and the first problem found there.
public struct ChainVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The block height where the problem is (0: the node keys).
    public var height: UInt64
    /// What is wrong.
    public var problem: String

    /// A problem at `height`.
    public init(height: UInt64, _ problem: String) {
        self.height = height
        self.problem = problem
    }

    /// One line: "block 12: node signature does not verify".
    public var description: String { height == 0 ? problem : "block \(height): \(problem)" }
}
