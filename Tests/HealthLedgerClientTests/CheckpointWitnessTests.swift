import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire
import Testing

/// The pure witness: a client that remembers a checkpoint and checks every next one, and the entries proven in them,
/// against it.
@Suite("CheckpointWitness")
struct CheckpointWitnessTests {
    @Test("given keys pinned on first use, a log's successive checkpoints are trusted and the newest is remembered")
    func happyPathGrowingLog() throws {
        var log = SignedLog()
        log.append(5)
        var witness = CheckpointWitness(chainID: "test-chain")
        #expect(try witness.pinOnFirstUse([log.nodeKeyRecord]))
        let first = try witness.checkSignature(log.checkpoint(height: 1))
        #expect(try witness.accept(first))
        #expect(witness.latest?.treeSize == 5)

        log.append(7)
        let second = try witness.checkSignature(log.checkpoint(height: 2))
        #expect(try witness.consistencyStep(for: second) == .proof(firstTreeSize: 5, secondTreeSize: 12))
        #expect(try witness.accept(second, consistencyProof: log.tree.consistencyProof(firstSize: 5, secondSize: 12)))
        #expect(witness.latest?.treeSize == 12)
        #expect(witness.latest?.rootHash == log.tree.rootHash)

        // The older one is now proven a prefix: seen again (events of its block), it needs no proof.
        #expect(try witness.consistencyStep(for: first) == .none)
        #expect(try witness.accept(first) == false)
        #expect(witness.latest?.treeSize == 12)
    }

    @Test(
        "given a newer checkpoint remembered, an older one is trusted with a proof that it is a prefix, not remembered")
    func olderCheckpointWithProof() throws {
        var log = SignedLog()
        log.append(3)
        let old = log.checkpoint(height: 1)
        log.append(10)
        var witness = log.witness()
        try witness.accept(try witness.checkSignature(log.checkpoint(height: 2)))
        let older = try witness.checkSignature(old)
        #expect(try witness.consistencyStep(for: older) == .proof(firstTreeSize: 3, secondTreeSize: 13))
        #expect(
            try witness.accept(older, consistencyProof: log.tree.consistencyProof(firstSize: 3, secondSize: 13))
                == false)
        #expect(witness.latest?.treeSize == 13)
        #expect(try witness.consistencyStep(for: older) == .none)
    }

    @Test("an older checkpoint whose proof fails is caught as not a prefix of the one seen before")
    func olderCheckpointInconsistent() throws {
        var log = SignedLog()
        log.append(4)
        var other = SignedLog(key: log.key)
        other.append(4, salt: 9)
        other.append(6)
        var witness = log.witness()
        log.append(6)
        try witness.accept(try witness.checkSignature(log.checkpoint(height: 2)))
        let forked = try witness.checkSignature(other.checkpoint(height: 1, size: 4))
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.accept(forked, consistencyProof: other.tree.consistencyProof(firstSize: 4, secondSize: 10))
        }
        #expect(error.kind == .forked)
        #expect(error.description.contains("tree size 4"), "\(error)")
        #expect(error.description.contains("is not a prefix of the checkpoint seen before (tree size 10"), "\(error)")
    }

    @Test("a checkpoint of the same size with another root is a fork, named with both sizes and short roots")
    func sameSizeDifferentRoot() throws {
        var log = SignedLog()
        log.append(6)
        var fork = SignedLog(key: log.key)
        fork.append(6, salt: 1)
        var witness = log.witness()
        try witness.accept(try witness.checkSignature(log.checkpoint(height: 3)))
        let forked = try witness.checkSignature(fork.checkpoint(height: 3))
        let error = try #require(throws: HistoryVerificationError.self) { try witness.consistencyStep(for: forked) }
        #expect(error.kind == .forked)
        let rememberedRoot = String(Hex.encode(log.tree.rootHash).prefix(8))
        let statedRoot = String(Hex.encode(fork.tree.rootHash).prefix(8))
        #expect(
            error.description
                == "the node's history does not extend the checkpoint seen before (tree size 6, root \(rememberedRoot)…): "
                + "it was rewritten or forked (the node now states tree size 6, root \(statedRoot)…)")
        #expect(throws: HistoryVerificationError.self) { try witness.accept(forked) }
        #expect(witness.latest?.rootHash == log.tree.rootHash)
    }

    @Test("a newer checkpoint of a rewritten log fails its consistency proof, and the old checkpoint stays remembered")
    func inconsistentProof() throws {
        var log = SignedLog()
        log.append(8)
        var witness = log.witness()
        try witness.accept(try witness.checkSignature(log.checkpoint(height: 2)))
        var rewritten = SignedLog(key: log.key)
        rewritten.append(7)  // one entry dropped...
        rewritten.append(5, salt: 3)  // ...and the log grown on
        let newer = try witness.checkSignature(rewritten.checkpoint(height: 4))
        #expect(try witness.consistencyStep(for: newer) == .proof(firstTreeSize: 8, secondTreeSize: 12))
        let proof = try rewritten.tree.consistencyProof(firstSize: 8, secondSize: 12)
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.accept(newer, consistencyProof: proof)
        }
        #expect(error.kind == .forked)
        #expect(
            error.description.hasPrefix("the node's history does not extend the checkpoint seen before (tree size 8"))
        #expect(witness.latest?.treeSize == 8)
        // Nor does an empty proof pass.
        #expect(throws: HistoryVerificationError.self) { try witness.accept(newer) }
    }

    @Test("a node head behind the checkpoint seen before is refused though it is a prefix; an entry's older one is not")
    func headBehind() throws {
        var log = SignedLog()
        log.append(4)
        let old = log.checkpoint(height: 1)
        log.append(2)
        var witness = log.witness()
        try witness.accept(try witness.checkSignature(log.checkpoint(height: 2)))
        let older = try witness.checkSignature(old)
        let error = try #require(throws: HistoryVerificationError.self) { try witness.checkHead(older) }
        #expect(error.kind == .forked)
        #expect(error.description.contains("is behind the checkpoint seen before (tree size 6"), "\(error)")
        try witness.checkHead(try witness.checkSignature(log.checkpoint(height: 2)))
        try witness.accept(older, consistencyProof: log.tree.consistencyProof(firstSize: 4, secondSize: 6))
    }

    @Test("a checkpoint whose signature bytes were altered is refused")
    func badSignature() throws {
        var log = SignedLog()
        log.append(2)
        var witness = log.witness()
        var signed = log.checkpoint(height: 1)
        signed.signature[0] ^= 0x01
        let error = try #require(throws: HistoryVerificationError.self) { try witness.checkSignature(signed) }
        #expect(error.kind == .badSignature)
        #expect(error.description.contains("does not verify"))
    }

    @Test("a checkpoint with its body changed after signing is refused")
    func bodyChangedAfterSigning() throws {
        var log = SignedLog()
        log.append(2)
        var witness = log.witness()
        var signed = log.checkpoint(height: 1)
        var body = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint)
        body.treeSize = 3
        signed.checkpoint = body.serializedBytes()
        #expect(throws: HistoryVerificationError.self) { try witness.checkSignature(signed) }
    }

    @Test("a checkpoint signed by a key that is not pinned is refused, even when the node now states that key")
    func unknownKey() throws {
        var log = SignedLog()
        log.append(2)
        var witness = log.witness()
        var forger = SignedLog(key: SigningPrivateKey.generate(.ed25519))
        forger.append(2)
        #expect(try witness.pinOnFirstUse([forger.nodeKeyRecord]) == false)
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.checkSignature(forger.checkpoint(height: 1))
        }
        #expect(error.kind == .unknownNodeKey)
        #expect(error.description.contains("which is not pinned"), "\(error)")
    }

    @Test(
        "given a cluster's head stating every node's key, pinning on first use pins them all: checkpoints of one history signed by either node verify and extend each other"
    )
    func clusterKeysPinnedTogether() throws {
        var first = SignedLog()
        var second = SignedLog(key: .generate(.ed25519))
        first.append(5)
        second.append(5)
        var witness = CheckpointWitness(chainID: "test-chain")
        #expect(try witness.pinOnFirstUse([first.nodeKeyRecord, second.nodeKeyRecord]))
        #expect(try witness.accept(try witness.checkSignature(first.checkpoint(height: 1))))

        first.append(4)
        second.append(4)
        let fromSecond = try witness.checkSignature(second.checkpoint(height: 2))
        #expect(
            try witness.accept(fromSecond, consistencyProof: second.tree.consistencyProof(firstSize: 5, secondSize: 9)))
        #expect(witness.latest?.treeSize == 9)
        // The first node's checkpoint of the same block is the same history: no proof needed, nothing new.
        #expect(try witness.accept(try witness.checkSignature(first.checkpoint(height: 2))) == false)

        // A node that joins later is not trusted silently: its key was not among those pinned.
        var third = SignedLog(key: .generate(.ed25519))
        third.append(9)
        #expect(try witness.pinOnFirstUse([first.nodeKeyRecord, second.nodeKeyRecord, third.nodeKeyRecord]) == false)
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.checkSignature(third.checkpoint(height: 2))
        }
        #expect(error.kind == .unknownNodeKey)
    }

    @Test("a pinned key outside the heights it is in force for does not sign")
    func keyNotInForce() throws {
        var log = SignedLog()
        log.append(2)
        var witness = CheckpointWitness(
            chainID: "test-chain", pinnedKeys: [PinnedNodeKey(publicKey: log.key.publicKey, validUntilHeight: 4)])
        _ = try witness.checkSignature(log.checkpoint(height: 4))
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.checkSignature(log.checkpoint(height: 5))
        }
        #expect(error.kind == .unknownNodeKey)
    }

    @Test("a checkpoint of another chain is refused")
    func wrongChain() throws {
        var log = SignedLog(chainID: "other-chain")
        log.append(2)
        var witness = CheckpointWitness(
            chainID: "test-chain", pinnedKeys: [PinnedNodeKey(publicKey: log.key.publicKey)])
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.checkSignature(log.checkpoint(height: 1))
        }
        #expect(error.kind == .wrongChain)
        #expect(error.description.contains("other-chain"))
    }

    @Test("a node key record whose id does not match its bytes is not pinned")
    func mismatchedKeyRecord() throws {
        var record = SignedLog().nodeKeyRecord
        record.keyId = SigningPrivateKey.generate(.ed25519).publicKey.keyID
        var witness = CheckpointWitness(chainID: "test-chain")
        #expect(throws: HistoryVerificationError.self) { try witness.pinOnFirstUse([record]) }
        #expect(witness.pinnedKeys.isEmpty)
    }

    @Test("every entry's inclusion proof verifies; a changed entry, another index or another size does not")
    func inclusion() throws {
        var log = SignedLog()
        log.append(11)
        var witness = log.witness()
        let checkpoint = try witness.checkSignature(log.checkpoint(height: 1))
        for index in 0..<UInt64(11) {
            try witness.checkInclusion(
                entry: log.entries[Int(index)], proof: try log.inclusion(index), checkpoint: checkpoint)
        }
        var changed = log.entries[4]
        changed[0] ^= 0x01
        let error = try #require(throws: HistoryVerificationError.self) {
            try witness.checkInclusion(entry: changed, proof: try log.inclusion(4), checkpoint: checkpoint)
        }
        #expect(error.kind == .inclusion)
        #expect(error.description.contains("entry 4 is not in the log of checkpoint tree size 11"), "\(error)")
        var moved = try log.inclusion(4)
        moved.leafIndex = 5
        #expect(throws: HistoryVerificationError.self) {
            try witness.checkInclusion(entry: log.entries[4], proof: moved, checkpoint: checkpoint)
        }
        var resized = try log.inclusion(4)
        resized.treeSize = 12
        #expect(throws: HistoryVerificationError.self) {
            try witness.checkInclusion(entry: log.entries[4], proof: resized, checkpoint: checkpoint)
        }
    }

    @Test("a witness restored from storage keeps catching a fork of the checkpoint it remembered")
    func restoredWitness() throws {
        var log = SignedLog()
        log.append(3)
        var first = log.witness()
        try first.accept(try first.checkSignature(log.checkpoint(height: 1)))
        var restored = CheckpointWitness(
            chainID: first.chainID, pinnedKeys: Array(first.pinnedKeys.values), latest: first.latest)
        var fork = SignedLog(key: log.key)
        fork.append(3, salt: 5)
        let forked = try restored.checkSignature(fork.checkpoint(height: 1))
        #expect(throws: HistoryVerificationError.self) { try restored.accept(forked) }
    }
}

/// A log of made-up entries and the node key that signs its checkpoints.
struct SignedLog {
    let chainID: String
    let key: SigningPrivateKey
    var tree = MerkleTree()
    var entries: [[UInt8]] = []

    init(chainID: String = "test-chain", key: SigningPrivateKey = .generate(.ed25519)) {
        self.chainID = chainID
        self.key = key
    }

    /// Appends `count` entries; `salt` makes them differ from another log's.
    mutating func append(_ count: Int, salt: UInt8 = 0) {
        for _ in 0..<count {
            let entry: [UInt8] = [salt] + Array("entry \(entries.count)".utf8)
            entries.append(entry)
            tree.append(leafHash: MerkleHash.leaf(entry))
        }
    }

    var nodeKeyRecord: Healthledger_V1_NodeKey {
        var record = Healthledger_V1_NodeKey()
        record.keyId = key.publicKey.keyID
        var wire = Healthledger_V1_PublicKey()
        wire.algorithm = .ed25519
        wire.keyBytes = key.publicKey.rawBytes
        record.publicKey = wire
        record.validFromHeight = 0
        return record
    }

    /// A witness with this log's key pinned.
    func witness() -> CheckpointWitness {
        CheckpointWitness(chainID: chainID, pinnedKeys: [PinnedNodeKey(publicKey: key.publicKey)])
    }

    /// The signed checkpoint of the first `size` entries (all by default), as block `height`'s.
    func checkpoint(height: UInt64, size: UInt64? = nil) -> Healthledger_V1_SignedCheckpoint {
        var checkpoint = Healthledger_V1_Checkpoint()
        checkpoint.chainId = chainID
        checkpoint.treeSize = size ?? tree.size
        checkpoint.rootHash = (try? tree.rootHash(size: checkpoint.treeSize)) ?? []
        checkpoint.blockHeight = height
        checkpoint.timeUnixMs = 1_700_000_000_000
        var signed = Healthledger_V1_SignedCheckpoint()
        signed.checkpoint = checkpoint.serializedBytes()
        signed.signature = key.signature(
            for: ContextLabel.message(context: ContextLabel.checkpoint, payload: signed.checkpoint))
        signed.nodeKeyId = key.publicKey.keyID
        return signed
    }

    func inclusion(_ index: UInt64) throws -> Healthledger_V1_InclusionProof {
        var proof = Healthledger_V1_InclusionProof()
        proof.leafIndex = index
        proof.treeSize = tree.size
        proof.auditPath = try tree.inclusionProof(leafIndex: index, treeSize: tree.size)
        return proof
    }
}
