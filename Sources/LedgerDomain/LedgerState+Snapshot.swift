import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire

/// Why a snapshot cannot be loaded; the node then replays the block log instead.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Byte sizes of the fixed-width rows in a snapshot's columns (proto/healthledger/storage/v1/snapshot.proto).
enum SnapshotRow {
    static let block = 32
    static let grant = 128
    static let sideEntry = 36

    static let revoked: UInt8 = 1
    static let hasActiveUntil: UInt8 = 2
    static let hasRecordDates: UInt8 = 4
    static let hasRecordFrom: UInt8 = 8
    static let hasRecordUntil: UInt8 = 16
    static let delegated: UInt8 = 32

    static let record = 120
    static let contentErased: UInt8 = 1
}

/// Little-endian fixed-width values appended end to end.
struct ColumnWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func append<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends `value` most significant byte first (as the bytes of an id).
    mutating func appendBigEndian<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ digest: TransactionDigest) { digest.append(to: &bytes) }
}

/// Reads what `ColumnWriter` wrote; the caller has checked the length.
struct ColumnReader {
    let base: UnsafeRawPointer
    var offset: Int

    init(_ base: UnsafeRawPointer, at offset: Int) {
        self.base = base
        self.offset = offset
    }

    mutating func read<Value: FixedWidthInteger>(_: Value.Type = Value.self) -> Value {
        defer { offset += MemoryLayout<Value>.size }
        return Value(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Value.self))
    }

    mutating func digest() -> TransactionDigest {
        defer { offset += 32 }
        return TransactionDigest(loadingFrom: base + offset)
    }
}

extension LedgerState {
    /// The state as a snapshot message (proto/healthledger/storage/v1/snapshot.proto). Deterministic: equal states
    /// give equal bytes, whatever order they were built in.
    public func snapshot() -> Healthledger_Storage_V1_StateSnapshot {
        var snapshot = Healthledger_Storage_V1_StateSnapshot()
        snapshot.chainId = chainID
        snapshot.height = height
        snapshot.lastBlockHash = lastBlockHash
        snapshot.treeSize = treeSize
        snapshot.leafHashes = tree.leafHashes(count: treeSize)
        snapshot.interiorHashes = tree.interiorHashes(count: treeSize)
        snapshot.blocks = blockColumns()
        snapshot.principals = principals.values.sorted { $0.id < $1.id }.map { principal in
            var wire = Healthledger_Storage_V1_PrincipalSnapshot()
            wire.principalId = principal.id.text
            wire.keyIds = principal.keyIDs
            wire.currentKeyId = principal.currentKeyID
            wire.nextSequence = principal.nextSequence
            return wire
        }
        // Sorted by key id, the dictionary's key (a key's `keyID` hashes its bytes on every call).
        snapshot.keys = keys.sorted { $0.key < $1.key }.map { keyID, key in
            var wire = Healthledger_Storage_V1_KeySnapshot()
            wire.publicKey = TransactionValidator.wire(key.key)
            wire.owner = key.owner.text
            wire.addedAtHeight = key.addedAtHeight
            wire.retiredAtHeight = key.retiredAtHeight
            wire.keyId = keyID
            return wire
        }
        snapshot.grants = grantColumns()
        snapshot.recordColumns = recordColumns()
        snapshot.emergencyAccesses = emergencyAccesses.values.sorted {
            $0.openedAt < $1.openedAt || ($0.openedAt == $1.openedAt && $0.id < $1.id)
        }.map { access in
            var wire = Healthledger_Storage_V1_EmergencyAccessSnapshot()
            wire.id = access.id
            wire.clinician = access.clinician
            wire.patient = access.patient
            wire.categories = access.categories.categories.map(PolicyConversion.wire)
            wire.openedAtUnixMs = access.openedAt
            wire.expiresAtUnixMs = access.expiresAt
            return wire
        }
        // Sorted, so the bytes do not depend on the order the set was filled in.
        var guardKeys: [TransactionKey] = []
        guardKeys.reserveCapacity(committedTransactions.count)
        committedTransactions.keys.forEach { guardKeys.append($0) }
        guardKeys.sort { ($0.high, $0.low) < ($1.high, $1.low) }
        var guardBytes = ColumnWriter(capacity: guardKeys.count * 16)
        for key in guardKeys {
            guardBytes.appendBigEndian(key.high)
            guardBytes.appendBigEndian(key.low)
        }
        snapshot.committedTransactions = guardBytes.bytes
        var indexes = ColumnWriter(capacity: auditEntryIndexes.count * 8)
        for index in auditEntryIndexes { indexes.append(index) }
        snapshot.auditEntryIndexes = indexes.bytes
        snapshot.auditByPatient = auditByPatient.keys.sorted().map { patient in
            let sequences = auditByPatient[patient]!
            var column = ColumnWriter(capacity: sequences.count * 8)
            for sequence in sequences { column.append(sequence) }
            var trail = Healthledger_Storage_V1_AuditTrailSnapshot()
            trail.patient = patient
            trail.sequences = column.bytes
            return trail
        }
        return snapshot
    }

    private func blockColumns() -> Healthledger_Storage_V1_BlockColumns {
        var rows = ColumnWriter(capacity: blocks.count * SnapshotRow.block)
        // Only the head's signed parts are in memory (and needed on restore); the others are in the block log.
        let header = blocks.last?.signedHeader.serializedBytes() ?? []
        let checkpoint = blocks.last?.checkpoint.serializedBytes() ?? []
        for (position, row) in blocks.rows.enumerated() {
            let isLast = position == blocks.count - 1
            rows.append(row.time)
            rows.append(row.firstEntryIndex)
            rows.append(row.entryCount)
            rows.append(UInt32(isLast ? header.count : 0))
            rows.append(UInt32(isLast ? checkpoint.count : 0))
            rows.append(UInt32(0))
        }
        var columns = Healthledger_Storage_V1_BlockColumns()
        columns.rows = rows.bytes
        columns.signed = header + checkpoint
        return columns
    }

    private func recordColumns() -> Healthledger_Storage_V1_RecordColumns {
        var rows = ColumnWriter(capacity: records.count * SnapshotRow.record)
        for row in records.rows {
            rows.append(row.id)
            rows.append(row.contentSha256)
            rows.append(row.blockHeight)
            rows.append(row.entryIndex)
            rows.append(row.createdAt)
            rows.append(row.effectiveAt)
            rows.append(row.sizeBytes)
            rows.append(row.patient)
            rows.append(row.author)
            rows.append(row.category.rawValue)
            rows.append(row.contentErased ? SnapshotRow.contentErased : 0)
            rows.append(UInt32(0))
            rows.append(UInt16(0))
        }
        var columns = Healthledger_Storage_V1_RecordColumns()
        columns.names = Array(records.names)
        columns.rows = rows.bytes
        return columns
    }

    private func grantColumns() -> Healthledger_Storage_V1_GrantColumns {
        var rows = ColumnWriter(capacity: grants.count * SnapshotRow.grant)
        var revokers = ColumnWriter(capacity: grants.revokers.count * SnapshotRow.sideEntry)
        var delegations = ColumnWriter(capacity: grants.delegations.count * SnapshotRow.sideEntry)
        // A patient's policy holds its grants in commit order, as the table does: the k-th grant of a patient in the
        // table is the k-th rule of its policy (checked by id).
        let rulesByName = grants.names.map { policies[$0]?.grants ?? [] }
        var nextRule = [Int](repeating: 0, count: rulesByName.count)
        for position in 0..<grants.count {
            let row = grants.rows[position]
            let patient = Int(row.patient)
            guard nextRule[patient] < rulesByName[patient].count,
                TransactionDigest(hex: rulesByName[patient][nextRule[patient]].id) == row.id
            else { preconditionFailure("grant \(row.id.hex) is not next in its patient's policy") }
            let rule = rulesByName[patient][nextRule[patient]]
            nextRule[patient] += 1
            var flags: UInt8 = 0
            if row.revokedAt != GrantRow.notRevoked { flags |= SnapshotRow.revoked }
            if rule.activeUntil != nil { flags |= SnapshotRow.hasActiveUntil }
            if let dates = rule.recordDates {
                flags |= SnapshotRow.hasRecordDates
                if dates.from != nil { flags |= SnapshotRow.hasRecordFrom }
                if dates.until != nil { flags |= SnapshotRow.hasRecordUntil }
            }
            if row.isDelegated { flags |= SnapshotRow.delegated }
            rows.append(row.id)
            rows.append(row.blockHeight)
            rows.append(row.entryIndex)
            rows.append(row.createdAt)
            rows.append(row.committedAt)
            rows.append(row.revokedAt == GrantRow.notRevoked ? 0 : row.revokedAt)
            rows.append(rule.activeFrom)
            rows.append(rule.activeUntil ?? 0)
            rows.append(rule.recordDates?.from ?? 0)
            rows.append(rule.recordDates?.until ?? 0)
            rows.append(rule.categories.rawValue)
            rows.append(row.patient)
            rows.append(row.grantee)
            rows.append(row.author)
            rows.append(rule.actions.rawValue)
            rows.append(rule.purposes.rawValue)
            rows.append(rule.effect.rawValue)
            rows.append(flags)
            if let revoker = grants.revokers[Int32(position)] {
                revokers.append(UInt32(position))
                revokers.append(revoker)
            }
            if let delegation = grants.delegations[Int32(position)] {
                delegations.append(UInt32(position))
                delegations.append(delegation)
            }
        }
        var columns = Healthledger_Storage_V1_GrantColumns()
        columns.names = Array(grants.names)
        columns.rows = rows.bytes
        columns.revokers = revokers.bytes
        columns.delegations = delegations.bytes
        return columns
    }

    /// The state a snapshot describes. Its last block hash and tree root are checked against its last block header,
    /// so a snapshot that does not belong to the chain it claims is refused. Keys are trusted as stored: the node
    /// checked each when it was first used, and the snapshot file is checksummed.
    public static func restore(from snapshot: Healthledger_Storage_V1_StateSnapshot) throws(SnapshotError)
        -> LedgerState
    {
        let bytes = snapshot.serializedBytes()
        // Array.withUnsafeBytes rethrows untyped errors, so the typed one travels out as a value.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SnapshotError) in try restore(snapshotBytes: buffer) }
        }
        return try result.get()
    }

    /// The state the encoded snapshot in `bytes` describes, read in place (the large columns are never copied
    /// whole), with the checks of `restore(from:)`.
    public static func restore(snapshotBytes bytes: UnsafeRawBufferPointer) throws(SnapshotError) -> LedgerState {
        let fields: SnapshotFields
        do { fields = try SnapshotFields(bytes) } catch {
            throw SnapshotError(description: "snapshot: not a snapshot message")
        }
        func failure(_ reason: String) -> SnapshotError {
            SnapshotError(description: "snapshot at height \(fields.height): \(reason)")
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var state = LedgerState(chainID: String(decoding: fields.chainID ?? empty, as: UTF8.self))
        let leafHashes = fields.leafHashes ?? empty
        guard leafHashes.count == Int(fields.treeSize) * 32 else { throw failure("sizes do not agree") }
        guard let tree = MerkleTree(leafHashes: leafHashes, interiorHashes: fields.interiorHashes ?? empty) else {
            throw failure("the tree's hashes do not agree with its size")
        }
        state.tree = tree
        state.treeSize = fields.treeSize
        try state.restoreBlocks(
            rows: fields.blockRows ?? empty, signed: fields.blockSigned ?? empty, height: fields.height, failure)
        let lastBlockHash = Array(fields.lastBlockHash ?? empty)
        if let last = state.blocks.last {
            guard SHA256.hash(last.signedHeader.header) == lastBlockHash,
                last.header.treeRootHash == state.tree.rootHash, last.header.height == fields.height,
                state.blocks.entryRange(at: state.blocks.count - 1).upperBound == fields.treeSize
            else { throw failure("does not match its own last block") }
        }
        state.lastBlockHash = lastBlockHash

        state.principals.reserveCapacity(fields.principals.count)
        for bytes in fields.principals {
            guard let wire = try? Healthledger_Storage_V1_PrincipalSnapshot(serializedBytes: bytes),
                let id = try? PrincipalID(parsing: wire.principalId)
            else { throw failure("bad principal") }
            state.principals[id] = PrincipalState(
                id: id, keyIDs: wire.keyIds, currentKeyID: wire.currentKeyId, nextSequence: wire.nextSequence)
        }
        state.keys.reserveCapacity(fields.keys.count)
        for bytes in fields.keys {
            guard let wire = try? Healthledger_Storage_V1_KeySnapshot(serializedBytes: bytes),
                let publicKey = wire.publicKey,
                let algorithm: SignatureAlgorithm = publicKey.algorithm == .ed25519
                    ? .ed25519 : publicKey.algorithm == .ecdsaP256 ? .ecdsaP256 : nil,
                publicKey.keyBytes.count == (algorithm == .ed25519 ? 32 : 65), !wire.keyId.isEmpty,
                let owner = try? PrincipalID(parsing: wire.owner)
            else { throw failure("bad key") }
            let key = SigningPublicKey(trustedAlgorithm: algorithm, rawBytes: publicKey.keyBytes)
            state.keys[wire.keyId] = KeyState(
                key: key, owner: owner, addedAtHeight: wire.addedAtHeight, retiredAtHeight: wire.retiredAtHeight)
        }
        try state.restoreGrants(
            names: fields.names, rows: fields.grantRows ?? empty, revokers: fields.grantRevokers ?? empty,
            delegations: fields.grantDelegations ?? empty, failure)
        try state.restoreRecords(fields, failure)
        for bytes in fields.emergencyAccesses {
            guard let wire = try? Healthledger_Storage_V1_EmergencyAccessSnapshot(serializedBytes: bytes) else {
                throw failure("bad emergency access")
            }
            let access = EmergencyAccessRule(
                id: wire.id, clinician: wire.clinician, patient: wire.patient,
                categories: CategorySet(
                    wire.categories.compactMap { DataCategory(rawValue: UInt8(clamping: $0.rawValue)) }),
                openedAt: wire.openedAtUnixMs, expiresAt: wire.expiresAtUnixMs)
            var policy = state.policies[wire.patient] ?? PatientPolicy(patient: wire.patient)
            state.policies[wire.patient] = nil
            _ = policy.add(access)
            state.policies[wire.patient] = policy
            state.emergencyAccesses[wire.id] = access
        }
        let guardBytes = fields.committedTransactions ?? empty
        guard guardBytes.count % 16 == 0 else { throw failure("bad replay guard") }
        state.committedTransactions.keys.reserveCapacity(guardBytes.count / 16)
        var offset = 0
        while offset < guardBytes.count {
            state.committedTransactions.insert(
                TransactionKey(
                    high: UInt64(bigEndian: guardBytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                    low: UInt64(bigEndian: guardBytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))))
            offset += 16
        }
        try state.restoreAuditTrail(fields, failure)
        return state
    }

    /// The record table: the columns this version writes, or the messages earlier versions wrote.
    private mutating func restoreRecords(_ fields: SnapshotFields, _ failure: (String) -> SnapshotError)
        throws(SnapshotError)
    {
        for bytes in fields.records {
            guard let wire = try? Healthledger_Storage_V1_RecordSnapshot(serializedBytes: bytes),
                let record = Self.restoredRecord(wire)
            else { throw failure("bad record") }
            records.commit(record)
        }
        guard let rows = fields.recordRows, rows.count > 0 else { return }
        guard rows.count % SnapshotRow.record == 0 else { throw failure("record columns do not agree") }
        let count = rows.count / SnapshotRow.record
        let names = fields.recordNames.map { String(decoding: $0, as: UTF8.self) }
        // Every name is a principal id: checked once per name, not per record.
        for (position, name) in names.enumerated() where (try? PrincipalID(parsing: name)) == nil {
            throw failure("record name \(position) is not a principal id")
        }
        records.reserveCapacity(records: count, names: names.count)
        for name in names { _ = records.name(name) }
        guard records.names.count == names.count else { throw failure("a record name is listed twice") }
        var reader = ColumnReader(rows.baseAddress!, at: 0)
        for _ in 0..<count {
            let id = reader.digest()
            let contentSha256 = reader.digest()
            let blockHeight: UInt64 = reader.read()
            let entryIndex: UInt64 = reader.read()
            let createdAt: Int64 = reader.read()
            let effectiveAt: Int64 = reader.read()
            let sizeBytes: UInt64 = reader.read()
            let patient: UInt32 = reader.read()
            let author: UInt32 = reader.read()
            let categoryNumber: UInt8 = reader.read()
            let flags: UInt8 = reader.read()
            reader.offset += 6
            guard Int(patient) < names.count, Int(author) < names.count,
                let category = DataCategory(rawValue: categoryNumber), entryIndex < treeSize,
                blockHeight >= 1, blockHeight <= height, records.row(of: id) == nil
            else { throw failure("a record row does not agree") }
            records.append(
                RecordRow(
                    id: id, contentSha256: contentSha256, blockHeight: blockHeight, entryIndex: entryIndex,
                    createdAt: createdAt, effectiveAt: effectiveAt, sizeBytes: sizeBytes, patient: patient,
                    author: author, category: category, contentErased: flags & SnapshotRow.contentErased != 0))
        }
    }

    /// A record from its snapshot message (earlier versions): from its fields, or decoded from its entry.
    private static func restoredRecord(_ wire: Healthledger_Storage_V1_RecordSnapshot) -> RecordEntry? {
        guard let location = wire.location else { return nil }
        let position = EntryPosition(blockHeight: location.blockHeight, entryIndex: location.entryIndex)
        guard !wire.ledgerEntry.isEmpty else {
            guard let metadata = wire.metadata, let author = try? PrincipalID(parsing: wire.author),
                let category = DataCategory(rawValue: UInt8(clamping: metadata.category.rawValue)),
                TransactionDigest(hex: wire.id) != nil, metadata.contentSha256.count == 32
            else { return nil }
            return RecordEntry(
                id: wire.id, patient: metadata.patient, category: category, author: author,
                createdAt: wire.createdAtUnixMs, effectiveAt: metadata.effectiveAtUnixMs,
                contentSha256: metadata.contentSha256, sizeBytes: metadata.sizeBytes, position: position,
                contentErased: wire.contentErased)
        }
        return RecordEntry.written(inLedgerEntry: wire.ledgerEntry, at: position, contentErased: wire.contentErased)
    }

    private mutating func restoreBlocks(
        rows: UnsafeRawBufferPointer, signed: UnsafeRawBufferPointer, height: UInt64,
        _ failure: (String) -> SnapshotError
    ) throws(SnapshotError) {
        guard rows.count == Int(height) * SnapshotRow.block else { throw failure("block rows do not agree") }
        guard height > 0 else { return }
        blocks.reserveCapacity(Int(height))
        var reader = ColumnReader(rows.baseAddress!, at: 0)
        var offset = 0
        var nextEntry: UInt64 = 0
        var last: (header: UnsafeRawBufferPointer, checkpoint: UnsafeRawBufferPointer)?
        for _ in 0..<Int(height) {
            let time: Int64 = reader.read()
            let first: UInt64 = reader.read()
            let count: UInt32 = reader.read()
            let headerLength = Int(reader.read(UInt32.self))
            let checkpointLength = Int(reader.read(UInt32.self))
            _ = reader.read(UInt32.self)
            guard first == nextEntry, offset + headerLength + checkpointLength <= signed.count else {
                throw failure("block columns do not agree")
            }
            blocks.append(time: time, firstEntryIndex: first, entryCount: count)
            // Snapshots of earlier versions hold every block's signed parts; only the last one's are kept.
            last = (
                UnsafeRawBufferPointer(rebasing: signed[offset..<(offset + headerLength)]),
                UnsafeRawBufferPointer(
                    rebasing: signed[(offset + headerLength)..<(offset + headerLength + checkpointLength)])
            )
            offset += headerLength + checkpointLength
            nextEntry = first + UInt64(count)
        }
        guard offset == signed.count, let last,
            let signedHeader = try? Healthledger_V1_SignedBlockHeader(serializedBytes: last.header),
            let checkpoint = try? Healthledger_V1_SignedCheckpoint(serializedBytes: last.checkpoint),
            let header = try? Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header),
            header.timeUnixMs == blocks.time(at: blocks.count - 1)
        else { throw failure("block columns do not agree") }
        blocks.setLast(BlockSummary(header: header, signedHeader: signedHeader, checkpoint: checkpoint))
    }

    /// The audit index: the columns this version writes, or the entries an earlier version wrote, decoded.
    private mutating func restoreAuditTrail(_ fields: SnapshotFields, _ failure: (String) -> SnapshotError)
        throws(SnapshotError)
    {
        if !fields.auditEntries.isEmpty {
            auditEntryIndexes.reserveCapacity(fields.auditEntries.count)
            for slice in fields.auditEntries {
                guard let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: slice),
                    case .auditEvent(let event)? = entry.entry, event.sequence == auditSequence + 1,
                    event.entryIndex < treeSize
                else { throw failure("bad audit event") }
                auditEntryIndexes.append(event.entryIndex)
                auditByPatient[event.patient, default: []].append(event.sequence)
            }
            return
        }
        let indexes = fields.auditEntryIndexes ?? UnsafeRawBufferPointer(start: nil, count: 0)
        guard indexes.count % 8 == 0 else { throw failure("bad audit index") }
        let count = indexes.count / 8
        auditEntryIndexes.reserveCapacity(count)
        var previous: UInt64?
        for position in 0..<count {
            let index = UInt64(littleEndian: indexes.loadUnaligned(fromByteOffset: position * 8, as: UInt64.self))
            guard index < treeSize, previous.map({ index > $0 }) ?? true else { throw failure("bad audit index") }
            auditEntryIndexes.append(index)
            previous = index
        }
        var listed = 0
        auditByPatient.reserveCapacity(fields.auditTrails.count)
        for trail in fields.auditTrails {
            guard trail.sequences.count % 8 == 0, trail.sequences.count > 0 else { throw failure("bad audit trail") }
            var sequences: [UInt64] = []
            sequences.reserveCapacity(trail.sequences.count / 8)
            for position in 0..<(trail.sequences.count / 8) {
                let sequence = UInt64(
                    littleEndian: trail.sequences.loadUnaligned(fromByteOffset: position * 8, as: UInt64.self))
                guard sequence >= 1, sequence <= UInt64(count), sequences.last.map({ sequence > $0 }) ?? true else {
                    throw failure("bad audit trail")
                }
                sequences.append(sequence)
            }
            let patient = String(decoding: trail.patient, as: UTF8.self)
            guard auditByPatient[patient] == nil else { throw failure("a patient's audit trail is listed twice") }
            auditByPatient[patient] = sequences
            listed += sequences.count
        }
        guard listed == count else { throw failure("the audit trails do not cover every event") }
    }

    private mutating func restoreGrants(
        names encodedNames: [UnsafeRawBufferPointer], rows: UnsafeRawBufferPointer, revokers: UnsafeRawBufferPointer,
        delegations: UnsafeRawBufferPointer, _ failure: (String) -> SnapshotError
    ) throws(SnapshotError) {
        guard rows.count % SnapshotRow.grant == 0, revokers.count % SnapshotRow.sideEntry == 0,
            delegations.count % SnapshotRow.sideEntry == 0
        else { throw failure("grant columns do not agree") }
        let count = rows.count / SnapshotRow.grant
        let names = encodedNames.map { String(decoding: $0, as: UTF8.self) }
        // Every name is a principal id, or "*" (everyone, never an author); checked once per name, not per grant.
        var isPrincipal = [Bool](repeating: false, count: names.count)
        for (position, name) in names.enumerated() {
            if (try? PrincipalID(parsing: name)) != nil {
                isPrincipal[position] = true
            } else if name != "*" {
                throw failure("name \(position) is not a principal id")
            }
        }
        grants.reserveCapacity(grants: count, names: names.count)
        for name in names { _ = grants.name(name) }
        guard grants.names.count == names.count else { throw failure("a name is listed twice") }
        let revokers = Self.sideTable(revokers)
        let delegations = Self.sideTable(delegations)
        // Each patient's policy is sized for its grants first, then filled in commit order.
        var perPatient = [Int](repeating: 0, count: names.count)
        for position in 0..<count {
            let patient = Int(
                UInt32(
                    littleEndian: rows.loadUnaligned(
                        fromByteOffset: position * SnapshotRow.grant + 112, as: UInt32.self)))
            guard patient < names.count, isPrincipal[patient] else { throw failure("a grant row does not agree") }
            perPatient[patient] += 1
        }
        var patientPolicies: [PatientPolicy?] = names.indices.map { position in
            perPatient[position] > 0 ? PatientPolicy(patient: names[position], capacity: perPatient[position]) : nil
        }
        guard count > 0 else { return }
        var reader = ColumnReader(rows.baseAddress!, at: 0)
        for position in 0..<count {
            let id = reader.digest()
            let blockHeight: UInt64 = reader.read()
            let entryIndex: UInt64 = reader.read()
            let createdAt: Int64 = reader.read()
            let committedAt: Int64 = reader.read()
            let revokedAt: Int64 = reader.read()
            let activeFrom: Int64 = reader.read()
            let activeUntil: Int64 = reader.read()
            let recordFrom: Int64 = reader.read()
            let recordUntil: Int64 = reader.read()
            let categories: UInt64 = reader.read()
            let patient: UInt32 = reader.read()
            let grantee: UInt32 = reader.read()
            let author: UInt32 = reader.read()
            let actions: UInt8 = reader.read()
            let purposes: UInt8 = reader.read()
            let effectNumber: UInt8 = reader.read()
            let flags: UInt8 = reader.read()
            guard Int(grantee) < names.count, Int(author) < names.count, isPrincipal[Int(author)],
                let effect = Effect(rawValue: effectNumber)
            else { throw failure("a grant row does not agree") }
            let delegation = flags & SnapshotRow.delegated != 0 ? delegations[UInt32(position)] : nil
            if flags & SnapshotRow.delegated != 0, delegation == nil { throw failure("a delegation is missing") }
            let granteeName = names[Int(grantee)]
            patientPolicies[Int(patient)]?.addRestored(
                GrantRule(
                    id: id.hex, patient: names[Int(patient)],
                    grantee: granteeName == "*" ? .everyone : .principal(granteeName),
                    actions: ActionSet(rawValue: actions), categories: CategorySet(rawValue: categories),
                    purposes: PurposeSet(rawValue: purposes), activeFrom: activeFrom,
                    activeUntil: flags & SnapshotRow.hasActiveUntil != 0 ? activeUntil : nil,
                    recordDates: flags & SnapshotRow.hasRecordDates != 0
                        ? TimeRange(
                            from: flags & SnapshotRow.hasRecordFrom != 0 ? recordFrom : nil,
                            until: flags & SnapshotRow.hasRecordUntil != 0 ? recordUntil : nil) : nil,
                    effect: effect, revokedAt: flags & SnapshotRow.revoked != 0 ? revokedAt : nil))
            grants.append(
                GrantRow(
                    id: id, blockHeight: blockHeight, entryIndex: entryIndex, createdAt: createdAt,
                    committedAt: committedAt,
                    revokedAt: flags & SnapshotRow.revoked != 0 ? revokedAt : GrantRow.notRevoked,
                    patient: patient, grantee: grantee, author: author, isDelegated: delegation != nil),
                revoker: revokers.isEmpty ? nil : revokers[UInt32(position)], delegation: delegation)
        }
        policies.reserveCapacity(policies.count + perPatient.count { $0 > 0 })
        for (position, policy) in patientPolicies.enumerated() {
            if let policy { policies[names[position]] = policy }
        }
    }

    /// A side column (row u32, digest) as a map.
    private static func sideTable(_ raw: UnsafeRawBufferPointer) -> [UInt32: TransactionDigest] {
        var table: [UInt32: TransactionDigest] = [:]
        guard let base = raw.baseAddress else { return table }
        table.reserveCapacity(raw.count / SnapshotRow.sideEntry)
        var reader = ColumnReader(base, at: 0)
        while reader.offset < raw.count {
            let row: UInt32 = reader.read()
            table[row] = reader.digest()
        }
        return table
    }
}
