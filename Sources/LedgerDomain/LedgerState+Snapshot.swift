import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire

/// Why a snapshot cannot be loaded; the node then replays the block log instead.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension LedgerState {
    /// The state as a snapshot message (proto/healthledger/storage/v1/snapshot.proto).
    public func snapshot() -> Healthledger_Storage_V1_StateSnapshot {
        var snapshot = Healthledger_Storage_V1_StateSnapshot()
        snapshot.chainId = chainID
        snapshot.height = height
        snapshot.lastBlockHash = lastBlockHash
        snapshot.treeSize = treeSize
        var leaves: [UInt8] = []
        leaves.reserveCapacity(Int(treeSize) * 32)
        for index in 0..<treeSize { leaves += tree.leafHash(at: index) }
        snapshot.leafHashes = leaves
        snapshot.blocks = blocks.map { block in
            var wire = Healthledger_Storage_V1_BlockSnapshot()
            wire.header = block.signedHeader
            wire.checkpoint = block.checkpoint
            return wire
        }
        snapshot.principals = principals.values.sorted { $0.id < $1.id }.map { principal in
            var wire = Healthledger_Storage_V1_PrincipalSnapshot()
            wire.principalId = principal.id.text
            wire.keyIds = principal.keyIDs
            wire.currentKeyId = principal.currentKeyID
            wire.nextSequence = principal.nextSequence
            return wire
        }
        snapshot.keys = keys.values.sorted { $0.key.keyID < $1.key.keyID }.map { key in
            var wire = Healthledger_Storage_V1_KeySnapshot()
            wire.publicKey = TransactionValidator.wire(key.key)
            wire.owner = key.owner.text
            wire.addedAtHeight = key.addedAtHeight
            wire.retiredAtHeight = key.retiredAtHeight
            return wire
        }
        snapshot.grants = grantOrder.compactMap { id in
            guard let detail = grants[id], let rule = policies[detail.grant.patient]?.grant(id: id) else { return nil }
            var wire = Healthledger_Storage_V1_GrantSnapshot()
            wire.id = id
            wire.ledgerEntry = detail.ledgerEntry
            wire.grant = detail.grant
            wire.author = detail.author.text
            wire.createdAtUnixMs = detail.createdAt
            wire.committedAtUnixMs = detail.committedAt
            wire.location = detail.position.wire
            wire.activeFromUnixMs = rule.activeFrom
            wire.activeUntilUnixMs = rule.activeUntil
            wire.revokeTransactionId = detail.revokeTransactionID
            wire.revokedAtUnixMs = detail.revokedAt
            return wire
        }
        let recordIDs = records.values.sorted { $0.position.entryIndex < $1.position.entryIndex }
        snapshot.records = recordIDs.map { record in
            var wire = Healthledger_Storage_V1_RecordSnapshot()
            wire.ledgerEntry = record.ledgerEntry
            wire.location = record.position.wire
            wire.contentErased = record.contentErased
            return wire
        }
        snapshot.emergencyAccesses = emergencyAccesses.values.sorted { $0.openedAt < $1.openedAt || ($0.openedAt == $1.openedAt && $0.id < $1.id) }.map { access in
            var wire = Healthledger_Storage_V1_EmergencyAccessSnapshot()
            wire.id = access.id
            wire.clinician = access.clinician
            wire.patient = access.patient
            wire.categories = access.categories.categories.map(PolicyConversion.wire)
            wire.openedAtUnixMs = access.openedAt
            wire.expiresAtUnixMs = access.expiresAt
            return wire
        }
        var guardBytes: [UInt8] = []
        guardBytes.reserveCapacity(committedTransactions.count * 16)
        for key in committedTransactions { guardBytes += key.bytes }
        snapshot.committedTransactions = guardBytes
        snapshot.auditEntries = auditEvents.map(\.ledgerEntry)
        return snapshot
    }

    /// The state a snapshot describes. Its last block hash and tree root are checked against the stored block
    /// headers, so a snapshot that does not belong to the chain it claims is refused.
    public static func restore(from snapshot: Healthledger_Storage_V1_StateSnapshot) throws(SnapshotError) -> LedgerState {
        func failure(_ reason: String) -> SnapshotError { SnapshotError(description: "snapshot at height \(snapshot.height): \(reason)") }
        var state = LedgerState(chainID: snapshot.chainId)
        guard snapshot.leafHashes.count == Int(snapshot.treeSize) * 32, snapshot.blocks.count == Int(snapshot.height)
        else { throw failure("sizes do not agree") }
        state.tree.reserveCapacity(snapshot.treeSize)
        snapshot.leafHashes.withUnsafeBufferPointer { leaves in
            for index in 0..<Int(snapshot.treeSize) {
                state.tree.append(leafHash: Array(leaves[(index * 32)..<(index * 32 + 32)]))
            }
        }
        state.treeSize = snapshot.treeSize
        do {
            state.blocks = try snapshot.blocks.map { (block) throws(ProtoDecodingError) in
                guard let header = block.header, let checkpoint = block.checkpoint else {
                    throw ProtoDecodingError(kind: .truncated, offset: 0)
                }
                return BlockSummary(
                    header: try Healthledger_V1_BlockHeader(serializedBytes: header.header), signedHeader: header,
                    checkpoint: checkpoint)
            }
        } catch {
            throw failure("a block header does not decode")
        }
        if let last = state.blocks.last {
            guard SHA256.hash(last.signedHeader.header) == snapshot.lastBlockHash,
                last.header.treeRootHash == state.tree.rootHash
            else { throw failure("does not match its own last block") }
        }
        state.lastBlockHash = snapshot.lastBlockHash

        for wire in snapshot.principals {
            guard let id = try? PrincipalID(parsing: wire.principalId) else { throw failure("bad principal id") }
            state.principals[id] = PrincipalState(
                id: id, keyIDs: wire.keyIds, currentKeyID: wire.currentKeyId, nextSequence: wire.nextSequence)
        }
        for wire in snapshot.keys {
            guard let publicKey = wire.publicKey,
                let key = try? TransactionValidator.publicKey(publicKey, field: "key"),
                let owner = try? PrincipalID(parsing: wire.owner)
            else { throw failure("bad key") }
            state.keys[key.keyID] = KeyState(
                key: key, owner: owner, addedAtHeight: wire.addedAtHeight, retiredAtHeight: wire.retiredAtHeight)
        }
        for wire in snapshot.grants {
            guard let grant = wire.grant, let location = wire.location, let author = try? PrincipalID(parsing: wire.author)
            else { throw failure("bad grant \(wire.id)") }
            let rule = GrantRule(
                id: wire.id, patient: grant.patient,
                grantee: grant.grantee == "*" ? .everyone : .principal(grant.grantee),
                actions: ActionSet(grant.actions.compactMap { Action(rawValue: UInt8(clamping: $0.rawValue)) }),
                categories: CategorySet(
                    listing: grant.categories.compactMap { category in
                        category == .all
                            ? CategoryListing.all
                            : DataCategory(rawValue: UInt8(clamping: category.rawValue)).map(CategoryListing.category)
                    }),
                purposes: PurposeSet(grant.purposes.compactMap { Purpose(rawValue: UInt8(clamping: $0.rawValue)) }),
                activeFrom: wire.activeFromUnixMs, activeUntil: wire.activeUntilUnixMs,
                recordDates: grant.recordDateRange.map { TimeRange(from: $0.fromUnixMs, until: $0.untilUnixMs) },
                effect: grant.effect == .deny ? .deny : .permit, revokedAt: wire.revokedAtUnixMs)
            _ = state.policies[grant.patient, default: PatientPolicy(patient: grant.patient)].add(rule)
            state.grants[wire.id] = GrantDetail(
                id: wire.id, grant: grant, author: author, createdAt: wire.createdAtUnixMs,
                committedAt: wire.committedAtUnixMs,
                position: EntryPosition(blockHeight: location.blockHeight, entryIndex: location.entryIndex),
                ledgerEntry: wire.ledgerEntry, revokeTransactionID: wire.revokeTransactionId,
                revokedAt: wire.revokedAtUnixMs)
            state.grantOrder.append(wire.id)
        }
        for wire in snapshot.records {
            guard let location = wire.location,
                let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: wire.ledgerEntry),
                case .transaction(let signed)? = entry.entry,
                let body = try? Healthledger_V1_TransactionBody(serializedBytes: signed.body),
                case .writeRecord(let metadata)? = body.operation,
                let author = try? PrincipalID(parsing: body.author),
                let category = DataCategory(rawValue: UInt8(clamping: metadata.category.rawValue))
            else { throw failure("bad record") }
            let id = Hex.encode(SHA256.hash(signed.body))
            state.records[id] = RecordEntry(
                id: id, metadata: metadata, category: category, author: author, createdAt: body.createdAtUnixMs,
                position: EntryPosition(blockHeight: location.blockHeight, entryIndex: location.entryIndex),
                ledgerEntry: wire.ledgerEntry, contentErased: wire.contentErased)
            state.recordsByPatient[metadata.patient, default: []].append(id)
        }
        for wire in snapshot.emergencyAccesses {
            let access = EmergencyAccessRule(
                id: wire.id, clinician: wire.clinician, patient: wire.patient,
                categories: CategorySet(wire.categories.compactMap { DataCategory(rawValue: UInt8(clamping: $0.rawValue)) }),
                openedAt: wire.openedAtUnixMs, expiresAt: wire.expiresAtUnixMs)
            _ = state.policies[wire.patient, default: PatientPolicy(patient: wire.patient)].add(access)
            state.emergencyAccesses[wire.id] = access
        }
        guard snapshot.committedTransactions.count % 16 == 0 else { throw failure("bad replay guard") }
        state.committedTransactions.reserveCapacity(snapshot.committedTransactions.count / 16)
        var offset = 0
        while offset < snapshot.committedTransactions.count {
            state.committedTransactions.insert(
                TransactionKey(digest: Array(snapshot.committedTransactions[offset..<(offset + 16)])))
            offset += 16
        }
        state.auditEvents.reserveCapacity(snapshot.auditEntries.count)
        for bytes in snapshot.auditEntries {
            guard let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: bytes),
                case .auditEvent(let event)? = entry.entry, event.sequence == UInt64(state.auditEvents.count + 1)
            else { throw failure("bad audit event") }
            state.auditEvents.append(AuditEntry(event: event, ledgerEntry: bytes))
            state.auditByPatient[event.patient, default: []].append(event.sequence)
        }
        return state
    }
}
