import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import ProtobufWire
import RPCCore
import Testing

/// A small ledger built block by block with the node's own admission and sealing, for replay stories.
struct ChainFixture {
    let chainID = "test-chain"
    let nodeKey = SigningPrivateKey.generate(.ed25519)
    let patient = SigningPrivateKey.generate(.ed25519)
    let clinician = SigningPrivateKey.generate(.ecdsaP256)
    var state: LedgerState
    var stored: [[UInt8]] = []
    var sequences: [String: UInt64] = [:]

    init() {
        state = LedgerState(chainID: chainID)
    }

    var sealer: BlockSealer { BlockSealer(nodeKey: nodeKey) }
    var nodeKeys: [String: SigningPublicKey] { [nodeKey.publicKey.keyID: nodeKey.publicKey] }

    mutating func transaction(
        by key: SigningPrivateKey, _ operation: Healthledger_V1_TransactionBody.Operation, createdAt: Int64 = 1_000
    ) -> Healthledger_V1_SignedTransaction {
        let author = PrincipalID(firstKey: key.publicKey)
        let sequence = (sequences[author.text] ?? 0) + 1
        sequences[author.text] = sequence
        var body = Healthledger_V1_TransactionBody()
        body.chainId = chainID
        body.author = author.text
        body.sequence = sequence
        body.createdAtUnixMs = createdAt
        body.operation = operation
        var signed = Healthledger_V1_SignedTransaction()
        signed.body = body.serializedBytes()
        signed.signature = key.signature(for: signed.body)
        signed.keyId = key.publicKey.keyID
        if sequence == 1 {
            var wire = Healthledger_V1_PublicKey()
            wire.algorithm = key.algorithm == .ed25519 ? .ed25519 : .ecdsaP256
            wire.keyBytes = key.publicKey.rawBytes
            signed.publicKey = wire
        }
        return signed
    }

    /// Admits `transactions` (and `audits`) into one block at `time`, seals and commits it.
    @discardableResult
    mutating func block(
        _ transactions: [(Healthledger_V1_SignedTransaction, OperationKind)], audits: [Healthledger_V1_AuditEvent] = [],
        time: Int64
    ) throws -> [String] {
        var draft = BlockDraft(after: state, time: time, rules: LedgerRules())
        var ids: [String] = []
        for (signed, kind) in transactions {
            let validated = try TransactionValidator.validate(signed, expecting: kind)
            _ = try draft.admit(validated, salt: SecureRandom.bytes(16), on: state)
            ids.append(validated.id)
        }
        for event in audits { draft.appendAudit(event, salt: SecureRandom.bytes(16)) }
        let (summary, bytes) = sealer.seal(draft, onto: &state)
        state.commit(draft, summary: summary)
        stored.append(bytes)
        return ids
    }

    /// A chain of four blocks: a grant, a record, an audit event and a revoke.
    static func fourBlocks() throws -> (ChainFixture, grantID: String) {
        var chain = ChainFixture()
        let patientID = PrincipalID(firstKey: chain.patient.publicKey).text
        var grant = Healthledger_V1_Grant()
        grant.patient = patientID
        grant.grantee = PrincipalID(firstKey: chain.clinician.publicKey).text
        grant.actions = [.read]
        grant.categories = [.labs]
        grant.purposes = [.treatment]
        grant.effect = .permit
        let grantID = try chain.block([(chain.transaction(by: chain.patient, .grant(grant)), .grant)], time: 2_000)[0]
        var record = Healthledger_V1_RecordMetadata()
        record.patient = patientID
        record.category = .labs
        record.contentSha256 = SHA256.hash(Array("k 4.1".utf8))
        record.sizeBytes = 5
        record.mediaType = "text/plain"
        try chain.block([(chain.transaction(by: chain.patient, .writeRecord(record)), .writeRecord)], time: 3_000)
        var event = Healthledger_V1_AuditEvent()
        event.actor = grant.grantee
        event.patient = patientID
        event.action = .read
        event.outcome = .allowed
        try chain.block([], audits: [event], time: 4_000)
        var revoke = Healthledger_V1_Revoke()
        revoke.grantId = grantID
        try chain.block([(chain.transaction(by: chain.patient, .revoke(revoke)), .revoke)], time: 5_000)
        return (chain, grantID)
    }
}

@Suite("Replaying the block log")
struct ChainReplayTests {
    @Test("replaying every stored block rebuilds the same head, log, audit trail and grant states")
    func replayRebuildsTheState() throws {
        let (chain, grantID) = try ChainFixture.fourBlocks()
        var replayed = LedgerState(chainID: chain.chainID)
        for block in chain.stored {
            try BlockReplay.apply(block, to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        }
        #expect(replayed.height == 4)
        #expect(replayed.lastBlockHash == chain.state.lastBlockHash)
        #expect(replayed.treeSize == chain.state.treeSize)
        #expect(replayed.tree.rootHash == chain.state.tree.rootHash)
        #expect(replayed.auditSequence == 1)
        #expect(replayed.grants[grantID]?.revokedAt == 5_000)
        #expect(replayed.policies.values.first?.grant(id: grantID)?.revokedAt == 5_000)
    }

    @Test("a changed byte anywhere in a stored block stops replay at that block")
    func tamperingIsCaught() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        for blockIndex in chain.stored.indices {
            let block = chain.stored[blockIndex]
            for offset in stride(from: 0, to: block.count, by: max(1, block.count / 40)) {
                var tampered = block
                tampered[offset] ^= 0x01
                var replayed = LedgerState(chainID: chain.chainID)
                var failure: ChainVerificationError?
                for (index, stored) in chain.stored.enumerated() {
                    do {
                        try BlockReplay.apply(
                            index == blockIndex ? tampered : stored, to: &replayed, rules: LedgerRules(),
                            nodeKeys: chain.nodeKeys)
                    } catch {
                        failure = error
                        break
                    }
                }
                #expect(failure != nil, "byte \(offset) of block \(blockIndex + 1) changed unnoticed")
                #expect(failure.map { $0.height <= UInt64(blockIndex + 1) } ?? true)
            }
        }
    }

    @Test("a missing block, a block from another node key, or blocks out of order are refused with the block named")
    func brokenChainsAreRefused() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        var replayed = LedgerState(chainID: chain.chainID)
        try BlockReplay.apply(chain.stored[0], to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        #expect(throws: ChainVerificationError.self) {
            var copy = replayed
            try BlockReplay.apply(chain.stored[2], to: &copy, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        }
        let otherKey = SigningPrivateKey.generate(.ed25519).publicKey
        do {
            var copy = replayed
            try BlockReplay.apply(chain.stored[1], to: &copy, rules: LedgerRules(), nodeKeys: [otherKey.keyID: otherKey])
            Issue.record("a block signed by an unknown node key was accepted")
        } catch {
            #expect(error.description.hasPrefix("block 2"))
        }
    }
}

@Suite("Replay that checks the head's signatures only")
struct HeadSignatureReplayTests {
    @Test("a forged head block passes the per-block checks but not the head signature check")
    func forgedHeadIsCaught() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        var stored = try StoredBlock(serializedBytes: chain.stored[3])
        stored.header!.signature[0] ^= 1
        var replayed = LedgerState(chainID: chain.chainID)
        for block in chain.stored.dropLast() {
            try BlockReplay.apply(block, to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys, verifySignatures: false)
        }
        try BlockReplay.apply(
            stored.serializedBytes(), to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys, verifySignatures: false)
        do {
            try BlockReplay.verifyHeadSignatures(of: replayed, nodeKeys: chain.nodeKeys)
            Issue.record("a forged head signature was accepted")
        } catch {
            #expect(error.height == 4)
        }
    }
}

@Suite("Stateless transaction checks")
struct TransactionValidatorTests {
    @Test("a body that is not the deterministic encoding of its fields is refused, naming the body")
    func nonDeterministicBody() throws {
        var chain = ChainFixture()
        var grant = Healthledger_V1_Grant()
        grant.patient = PrincipalID(firstKey: chain.patient.publicKey).text
        grant.grantee = PrincipalID(firstKey: chain.clinician.publicKey).text
        grant.actions = [.read]
        grant.categories = [.labs]
        grant.purposes = [.treatment]
        grant.effect = .permit
        var signed = chain.transaction(by: chain.patient, .grant(grant))
        // The same fields with the sequence written first: valid protobuf, not the deterministic encoding.
        var reordered = ProtoWriter()
        let body = try Healthledger_V1_TransactionBody(serializedBytes: signed.body)
        reordered.writeUInt64(body.sequence, field: 3)
        reordered.writeString(body.chainId, field: 1)
        reordered.writeString(body.author, field: 2)
        reordered.writeInt64(body.createdAtUnixMs, field: 4)
        reordered.writeMessage(grant, field: 10)
        signed.body = reordered.takeBytes()
        signed.signature = chain.patient.signature(for: signed.body)
        do {
            _ = try TransactionValidator.validate(signed, expecting: .grant)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("transaction.body: not the deterministic encoding"))
        }
    }

    @Test("a transaction carrying another operation than its RPC's is refused")
    func operationMustMatchTheRPC() throws {
        var chain = ChainFixture()
        var revoke = Healthledger_V1_Revoke()
        revoke.grantId = String(repeating: "a", count: 64)
        let signed = chain.transaction(by: chain.patient, .revoke(revoke))
        #expect(throws: RPCError.self) { try TransactionValidator.validate(signed, expecting: .grant) }
        #expect(try TransactionValidator.validate(signed, expecting: .revoke).author.text.hasPrefix("hl1"))
    }
}

@Suite("State snapshots")
struct StateSnapshotTests {
    @Test("a snapshot restores the state replay would rebuild: head, log, grants, records, audit trail and replay guard")
    func snapshotRoundTrip() throws {
        var (chain, grantID) = try ChainFixture.fourBlocks()
        let bytes = chain.state.snapshot().serializedBytes()
        let restored = try LedgerState.restore(from: Healthledger_Storage_V1_StateSnapshot(serializedBytes: bytes))
        #expect(restored.height == chain.state.height)
        #expect(restored.lastBlockHash == chain.state.lastBlockHash)
        #expect(restored.tree.rootHash == chain.state.tree.rootHash)
        #expect(restored.treeSize == chain.state.treeSize)
        #expect(restored.grants[grantID]?.revokedAt == 5_000)
        #expect(restored.policies.values.first?.grant(id: grantID)?.revokedAt == 5_000)
        #expect(restored.records.keys.sorted() == chain.state.records.keys.sorted())
        #expect(restored.auditEvents.map(\.ledgerEntry) == chain.state.auditEvents.map(\.ledgerEntry))
        #expect(restored.committedTransactions == chain.state.committedTransactions)
        #expect(restored.principals.mapValues(\.nextSequence) == chain.state.principals.mapValues(\.nextSequence))

        // The next block replays onto the restored state exactly as onto the original.
        var grant = Healthledger_V1_Grant()
        grant.patient = PrincipalID(firstKey: chain.patient.publicKey).text
        grant.grantee = "*"
        grant.actions = [.read]
        grant.categories = [.mentalHealth]
        grant.purposes = [.research]
        grant.effect = .deny
        try chain.block([(chain.transaction(by: chain.patient, .grant(grant)), .grant)], time: 6_000)
        var continued = restored
        try BlockReplay.apply(chain.stored.last!, to: &continued, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        #expect(continued.lastBlockHash == chain.state.lastBlockHash)
    }

    @Test("a snapshot whose last block hash does not match its headers is refused")
    func mismatchedSnapshot() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        var snapshot = chain.state.snapshot()
        snapshot.lastBlockHash[0] ^= 1
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: snapshot) }
    }
}
