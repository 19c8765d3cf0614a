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
        time: Int64, rules: LedgerRules = LedgerRules(), mode: BlockDraft.Mode = .live
    ) throws -> [String] {
        var draft = BlockDraft(after: state, time: time, rules: rules, mode: mode)
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

    /// A chain where a patient delegates to a guardian, the guardian grants a clinician dated labs, the patient
    /// denies everyone research on mental health and then revokes the delegation (ending the guardian's grant too).
    static func delegationChain() throws -> ChainFixture {
        var chain = ChainFixture()
        let guardian = SigningPrivateKey.generate(.ed25519)
        let patientID = PrincipalID(firstKey: chain.patient.publicKey).text
        let guardianID = PrincipalID(firstKey: guardian.publicKey).text
        let clinicianID = PrincipalID(firstKey: chain.clinician.publicKey).text
        var labs = Healthledger_V1_Grant()
        labs.patient = patientID
        labs.grantee = clinicianID
        labs.actions = [.read]
        labs.categories = [.labs]
        labs.purposes = [.treatment]
        labs.effect = .permit
        labs.validUntilUnixMs = 90_000
        var delegation = Healthledger_V1_Grant()
        delegation.patient = patientID
        delegation.grantee = guardianID
        delegation.actions = [.delegate, .read]
        delegation.categories = [.all]
        delegation.purposes = [.treatment]
        delegation.effect = .permit
        let ids = try chain.block(
            [
                (chain.transaction(by: chain.patient, .grant(labs)), .grant),
                (chain.transaction(by: chain.patient, .grant(delegation)), .grant),
            ], time: 2_000)
        var dated = labs
        dated.validUntilUnixMs = nil
        dated.validFromUnixMs = 2_500
        var range = Healthledger_V1_RecordDateRange()
        range.fromUnixMs = 1_000
        dated.recordDateRange = range
        dated.delegationGrantId = ids[1]
        try chain.block([(chain.transaction(by: guardian, .grant(dated)), .grant)], time: 3_000)
        var deny = Healthledger_V1_Grant()
        deny.patient = patientID
        deny.grantee = "*"
        deny.actions = [.read]
        deny.categories = [.mentalHealth]
        deny.purposes = [.research]
        deny.effect = .deny
        var revoke = Healthledger_V1_Revoke()
        revoke.grantId = ids[1]
        try chain.block(
            [
                (chain.transaction(by: chain.patient, .grant(deny)), .grant),
                (chain.transaction(by: chain.patient, .revoke(revoke)), .revoke),
            ], time: 4_000)
        return chain
    }

    /// The `LedgerEntry` bytes at `position`, from the stored blocks.
    func entry(at position: EntryPosition) throws -> [UInt8] {
        let block = try StoredBlock(serializedBytes: stored[Int(position.blockHeight) - 1])
        let first = try Healthledger_V1_BlockHeader(serializedBytes: block.header!.header).firstEntryIndex
        return block.entries[Int(position.entryIndex - first)]
    }

    /// A chain with records: the patient writes two labs results with the same content and an allergy, a clinician
    /// granted WRITE adds a note, then the patient erases the first labs result and the allergy.
    static func recordsChain() throws -> ChainFixture {
        var chain = ChainFixture()
        let patientID = PrincipalID(firstKey: chain.patient.publicKey).text
        var grant = Healthledger_V1_Grant()
        grant.patient = patientID
        grant.grantee = PrincipalID(firstKey: chain.clinician.publicKey).text
        grant.actions = [.write]
        grant.categories = [.clinicalNotes]
        grant.purposes = [.treatment]
        grant.effect = .permit
        try chain.block([(chain.transaction(by: chain.patient, .grant(grant)), .grant)], time: 2_000)
        func record(_ category: Healthledger_V1_DataCategory, _ content: String, effectiveAt: Int64)
            -> Healthledger_V1_RecordMetadata
        {
            var record = Healthledger_V1_RecordMetadata()
            record.patient = patientID
            record.category = category
            record.contentSha256 = SHA256.hash(Array(content.utf8))
            record.sizeBytes = UInt64(content.utf8.count)
            record.mediaType = "text/plain"
            record.effectiveAtUnixMs = effectiveAt
            record.labels = ["source": "fixture"]
            return record
        }
        let ids = try chain.block(
            [
                (chain.transaction(by: chain.patient, .writeRecord(record(.labs, "k 4.1", effectiveAt: 900))), .writeRecord),
                (chain.transaction(by: chain.patient, .writeRecord(record(.labs, "k 4.1", effectiveAt: 950))), .writeRecord),
                (chain.transaction(by: chain.clinician, .writeRecord(record(.clinicalNotes, "seen", effectiveAt: 970))), .writeRecord),
            ], time: 3_000)
        try chain.block(
            [(chain.transaction(by: chain.patient, .writeRecord(record(.allergies, "penicillin", effectiveAt: 990))), .writeRecord)],
            time: 3_500)
        let allergy = chain.state.records.entries(of: patientID)[3].id
        var erasure = Healthledger_V1_ErasureRequest()
        var list = Healthledger_V1_RecordIdList()
        list.recordIds = [ids[0], allergy]
        erasure.scope = .records(list)
        erasure.reason = "fixture"
        try chain.block([(chain.transaction(by: chain.patient, .erasureRequest(erasure)), .erasureRequest)], time: 4_000)
        return chain
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

    @Test("a Write admitted by an open emergency access, as break-glass once allowed, is refused live but still replays")
    func emergencyWriteOfAnEarlierVersionReplays() throws {
        var chain = ChainFixture()
        let patientID = PrincipalID(firstKey: chain.patient.publicKey).text
        let clinicianID = PrincipalID(firstKey: chain.clinician.publicKey).text
        let rules = LedgerRules(emergencyClinicians: [clinicianID])
        var opening = Healthledger_V1_EmergencyAccess()
        opening.patient = patientID
        opening.categories = [.medications]
        opening.reason = "unconscious in the emergency department"
        opening.durationMs = 60_000
        try chain.block(
            [(chain.transaction(by: chain.clinician, .emergencyAccess(opening)), .emergencyAccess)], time: 2_000,
            rules: rules)
        var record = Healthledger_V1_RecordMetadata()
        record.patient = patientID
        record.category = .medications
        record.contentSha256 = SHA256.hash(Array("given 2 mg".utf8))
        record.sizeBytes = 10
        record.mediaType = "text/plain"
        let write = chain.transaction(by: chain.clinician, .writeRecord(record), createdAt: 3_000)
        var live = BlockDraft(after: chain.state, time: 3_000, rules: rules)
        #expect(throws: RPCError.self) {
            _ = try live.admit(
                try TransactionValidator.validate(write, expecting: .writeRecord), salt: SecureRandom.bytes(16),
                on: chain.state)
        }
        // The block as a node of the earlier version sealed it.
        try chain.block([(write, .writeRecord)], time: 3_000, rules: rules, mode: .replay)

        var replayed = LedgerState(chainID: chain.chainID)
        for block in chain.stored {
            try BlockReplay.apply(block, to: &replayed, rules: rules, nodeKeys: chain.nodeKeys)
        }
        #expect(replayed.height == 2)
        #expect(replayed.tree.rootHash == chain.state.tree.rootHash)
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
        #expect(restored.records.count == 1)
        #expect(restored.records.entry(at: 0).id == chain.state.records.entry(at: 0).id)
        #expect(Array(restored.auditEntryIndexes) == Array(chain.state.auditEntryIndexes))
        #expect(restored.auditByPatient == chain.state.auditByPatient)
        #expect(restored.committedTransactions == chain.state.committedTransactions)
        #expect(
            Dictionary(uniqueKeysWithValues: restored.principals.map { ($0.key, $0.value.nextSequence) })
                == Dictionary(uniqueKeysWithValues: chain.state.principals.map { ($0.key, $0.value.nextSequence) }))

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

    @Test("a snapshot restores exactly what a full replay rebuilds, delegations, dated, expiring and revoked grants included: the restored state's own snapshot is byte for byte the replayed state's")
    func snapshotEqualsFullReplay() throws {
        let chain = try ChainFixture.delegationChain()
        var replayed = LedgerState(chainID: chain.chainID)
        for block in chain.stored {
            try BlockReplay.apply(block, to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        }
        let bytes = chain.state.snapshot().serializedBytes()
        let restored = try LedgerState.restore(from: Healthledger_Storage_V1_StateSnapshot(serializedBytes: bytes))
        let replayedBytes = replayed.snapshot().serializedBytes()
        let restoredMatches = restored.snapshot().serializedBytes() == replayedBytes
        #expect(restoredMatches, "the restored state differs from the replayed one")
        let originalMatches = bytes == replayedBytes
        #expect(originalMatches, "the committed state differs from the replayed one")
        // What the policy engine decides with, grant by grant.
        for (patient, policy) in replayed.policies {
            #expect(restored.policies[patient]?.grants == policy.grants)
            #expect(restored.policies[patient]?.emergencyAccesses == policy.emergencyAccesses)
        }
        #expect(restored.grants.count == 4)
        for row in 0..<replayed.grants.count {
            let original = replayed.grants.detail(at: row)
            let copy = restored.grants.detail(at: row)
            #expect(copy.id == original.id)
            #expect(copy.delegationGrantID == original.delegationGrantID)
            #expect(copy.revokeTransactionID == original.revokeTransactionID)
            #expect(copy.revokedAt == original.revokedAt)
            #expect(copy.position == original.position)
            #expect(copy.grantee == original.grantee)
        }
        let delegated = try #require(restored.grants.detail(at: 2).delegationGrantID)
        #expect(delegated == restored.grants.detail(at: 1).id)
        #expect(restored.grants.detail(at: 2).revokedAt == 4_000)
        #expect(restored.grants.detail(at: 3).grantee == "*")
    }

    @Test("a snapshot in the earlier layout (every block's signed parts, audit and record entries inline) restores the same state")
    func earlierLayoutRestores() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        #expect(chain.state.auditSequence > 0 && !chain.state.records.isEmpty)
        let current = chain.state.snapshot()
        let stored = try chain.stored.map { try StoredBlock(serializedBytes: $0) }
        func entry(_ index: UInt64) throws -> [UInt8] {
            let block = try #require(stored.first { block in
                let header = try? Healthledger_V1_BlockHeader(serializedBytes: block.header!.header)
                return header.map { index >= $0.firstEntryIndex && index < $0.firstEntryIndex + UInt64($0.entryCount) }
                    ?? false
            })
            let first = try Healthledger_V1_BlockHeader(serializedBytes: block.header!.header).firstEntryIndex
            return block.entries[Int(index - first)]
        }
        var earlier = current
        var rows = current.blocks!.rows
        var signed: [UInt8] = []
        for (position, block) in stored.enumerated() {
            let header = block.header!.serializedBytes()
            let checkpoint = block.checkpoint!.serializedBytes()
            // Row layout: time, first entry, entry count, then the two lengths at bytes 20 and 24.
            let lengths = (position * 32 + 20)..<(position * 32 + 28)
            var lengthBytes: [UInt8] = []
            withUnsafeBytes(of: UInt32(header.count).littleEndian) { lengthBytes += $0 }
            withUnsafeBytes(of: UInt32(checkpoint.count).littleEndian) { lengthBytes += $0 }
            rows.replaceSubrange(lengths, with: lengthBytes)
            signed += header + checkpoint
        }
        earlier.blocks!.rows = rows
        earlier.blocks!.signed = signed
        earlier.auditEntries = try chain.state.auditEntryIndexes.map { try entry($0) }
        earlier.auditEntryIndexes = []
        earlier.auditByPatient = []
        earlier.recordColumns = nil
        earlier.records = try chain.state.records.entries(of: chain.state.records.entry(at: 0).patient).map { record in
            var old = Healthledger_Storage_V1_RecordSnapshot()
            old.ledgerEntry = try entry(record.position.entryIndex)
            old.location = record.position.wire
            old.contentErased = record.contentErased
            return old
        }
        let restored = try LedgerState.restore(from: earlier)
        let same = restored.snapshot().serializedBytes() == current.serializedBytes()
        #expect(same, "the state restored from the earlier layout differs")
    }

    @Test("records restore from the record columns and from the previous layout's messages (fields and metadata): erasures, shared content and per-patient order included")
    func recordsRestore() throws {
        let chain = try ChainFixture.recordsChain()
        let records = chain.state.records
        #expect(records.count == 4)
        let patient = PrincipalID(firstKey: chain.patient.publicKey).text
        let clinician = PrincipalID(firstKey: chain.clinician.publicKey).text
        #expect(records.entries(of: patient).map(\.contentErased) == [true, false, false, true])
        #expect(records.entries(of: patient)[2].author.text == clinician)
        #expect(records.entries(of: clinician).isEmpty)
        #expect(records.patientsWithErasedRecords == [patient])
        // The erased first record shares its content with the live second one; the allergy's content is unshared.
        let first = records.entry(at: 0)
        let allergy = records.entries(of: patient)[3]
        #expect(records.isContentLive(patient: patient, sha256: first.contentSha256))
        #expect(!records.isContentLive(patient: patient, sha256: allergy.contentSha256))
        #expect(!records.isContentLive(patient: clinician, sha256: first.contentSha256))

        let current = chain.state.snapshot()
        var replayed = LedgerState(chainID: chain.chainID)
        for block in chain.stored {
            try BlockReplay.apply(block, to: &replayed, rules: LedgerRules(), nodeKeys: chain.nodeKeys)
        }
        #expect(replayed.snapshot().serializedBytes() == current.serializedBytes())
        let restored = try LedgerState.restore(from: current)
        #expect(restored.snapshot().serializedBytes() == current.serializedBytes())
        #expect(restored.records.patientsWithErasedRecords == [patient])
        for row in 0..<records.count {
            let original = records.entry(at: row)
            let copy = try #require(restored.records[original.id])
            #expect(copy.patient == original.patient && copy.author == original.author)
            #expect(copy.category == original.category && copy.effectiveAt == original.effectiveAt)
            #expect(copy.contentSha256 == original.contentSha256 && copy.sizeBytes == original.sizeBytes)
            #expect(copy.position == original.position && copy.contentErased == original.contentErased)
            #expect(copy.createdAt == original.createdAt)
        }

        // The previous layout: a message per record with its fields and metadata.
        var previous = current
        previous.recordColumns = nil
        previous.records = try (0..<records.count).map { row in
            let record = records.entry(at: row)
            var old = Healthledger_Storage_V1_RecordSnapshot()
            old.id = record.id
            let metadata = try #require(RecordEntry.metadata(inLedgerEntry: chain.entry(at: record.position)))
            old.metadata = metadata
            old.author = record.author.text
            old.createdAtUnixMs = record.createdAt
            old.location = record.position.wire
            old.contentErased = record.contentErased
            return old
        }
        let fromPrevious = try LedgerState.restore(from: previous)
        #expect(fromPrevious.snapshot().serializedBytes() == current.serializedBytes())
    }

    @Test("a snapshot whose grant or block columns are cut short is refused, never half read")
    func truncatedColumnsAreRefused() throws {
        let chain = try ChainFixture.delegationChain()
        var grants = chain.state.snapshot()
        grants.grants!.rows.removeLast(7)
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: grants) }
        var blocks = chain.state.snapshot()
        blocks.blocks!.signed.removeLast()
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: blocks) }
        var names = chain.state.snapshot()
        names.grants!.names.removeLast()
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: names) }
        let records = try ChainFixture.recordsChain().state.snapshot()
        var recordRows = records
        recordRows.recordColumns!.rows.removeLast(3)
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: recordRows) }
        var recordNames = records
        recordNames.recordColumns!.names.removeLast()
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: recordNames) }
    }

    @Test("a snapshot whose last block hash does not match its headers is refused")
    func mismatchedSnapshot() throws {
        let (chain, _) = try ChainFixture.fourBlocks()
        var snapshot = chain.state.snapshot()
        snapshot.lastBlockHash[0] ^= 1
        #expect(throws: SnapshotError.self) { try LedgerState.restore(from: snapshot) }
    }
}
