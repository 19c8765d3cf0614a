import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire
import RPCCore

/// The checks of a submitted transaction that need no ledger state (identity.proto, transaction.proto): they run
/// in the caller's task, before the transaction reaches the single-threaded commit step.
public enum TransactionValidator {
    /// Largest body: 64 KiB.
    public static let maxBodyBytes = 65_536
    /// Longest emergency access the protocol allows: 8 hours.
    public static let maxEmergencyDurationMs: Int64 = 28_800_000

    /// Parses and checks `signed`, which was submitted for an operation of `kind` (nil: any operation, for
    /// transactions read back from the chain); `field` is its path in the request (e.g. "transaction").
    /// `trustingKeys`, for the node's own chain on replay (its node signatures vouch for every byte): an attached
    /// public key is taken as it was checked when first admitted, not checked again.
    public static func validate(
        _ signed: Healthledger_V1_SignedTransaction, expecting kind: OperationKind?, field: String = "transaction",
        trustingKeys: Bool = false
    ) throws(RPCError) -> ValidatedTransaction {
        if !signed.unknownFields.isEmpty { throw InputValidation.invalid(field, "unknown fields") }
        if signed.body.isEmpty { throw InputValidation.invalid("\(field).body", "required") }
        if signed.body.count > maxBodyBytes {
            throw InputValidation.invalid("\(field).body", "at most \(maxBodyBytes) bytes, got \(signed.body.count)")
        }
        if signed.signature.count != 64 {
            throw InputValidation.invalid("\(field).signature", "must be 64 bytes, got \(signed.signature.count)")
        }
        _ = try InputValidation.objectID(signed.keyId, field: "\(field).key_id")
        var attachedKey: SigningPublicKey?
        if let wireKey = signed.publicKey {
            let keyField = "\(field).public_key"
            let key =
                try trustingKeys ? trustedPublicKey(wireKey, field: keyField) : publicKey(wireKey, field: keyField)
            if key.keyID != signed.keyId {
                throw InputValidation.invalid("\(field).key_id", "does not match public_key")
            }
            attachedKey = key
        }

        let bodyField = "\(field).body"
        let body: Healthledger_V1_TransactionBody
        do {
            body = try Healthledger_V1_TransactionBody(serializedBytes: signed.body)
        } catch {
            throw InputValidation.invalid(bodyField, "not a TransactionBody: \(error)")
        }
        try requireNoUnknownFields(body, field: bodyField)
        if body.serializedBytes() != signed.body {
            throw InputValidation.invalid(bodyField, "not the deterministic encoding of its fields")
        }
        _ = try InputValidation.chainID(body.chainId, field: "\(bodyField).chain_id")
        let author = try InputValidation.principal(body.author, field: "\(bodyField).author")
        if body.sequence == 0 { throw InputValidation.invalid("\(bodyField).sequence", "must be at least 1") }
        if body.createdAtUnixMs <= 0 {
            throw InputValidation.invalid("\(bodyField).created_at_unix_ms", "must be a positive time")
        }
        if let expiresAt = body.expiresAtUnixMs, expiresAt <= body.createdAtUnixMs {
            throw InputValidation.invalid("\(bodyField).expires_at_unix_ms", "must be greater than created_at_unix_ms")
        }
        guard let wireOperation = body.operation else {
            throw InputValidation.invalid(bodyField, "an operation is required (\(kind?.fieldName ?? "any"))")
        }
        let operation = try self.operation(wireOperation, expecting: kind, author: author, field: bodyField)
        let digest = SHA256.hash(signed.body)
        return ValidatedTransaction(
            id: Hex.encode(digest), digest: digest, signed: signed, body: body, author: author,
            attachedKey: attachedKey, operation: operation)
    }

    /// A wire public key, parsed (INVALID_ARGUMENT for a bad algorithm, length or point).
    public static func publicKey(_ wire: Healthledger_V1_PublicKey, field: String) throws(RPCError) -> SigningPublicKey {
        if !wire.unknownFields.isEmpty { throw InputValidation.invalid(field, "unknown fields") }
        let algorithm: SignatureAlgorithm
        switch wire.algorithm {
        case .ed25519: algorithm = .ed25519
        case .ecdsaP256: algorithm = .ecdsaP256
        default: throw InputValidation.invalid("\(field).algorithm", "must be ED25519 or ECDSA_P256")
        }
        do {
            return try SigningPublicKey(algorithm: algorithm, rawBytes: wire.keyBytes)
        } catch {
            throw InputValidation.invalid("\(field).key_bytes", error.description)
        }
    }

    /// A wire public key from the node's own chain, whose point was checked when it was first admitted: only its
    /// algorithm and length are checked again.
    static func trustedPublicKey(_ wire: Healthledger_V1_PublicKey, field: String) throws(RPCError)
        -> SigningPublicKey
    {
        let algorithm: SignatureAlgorithm
        switch wire.algorithm {
        case .ed25519 where wire.keyBytes.count == 32: algorithm = .ed25519
        case .ecdsaP256 where wire.keyBytes.count == 65: algorithm = .ecdsaP256
        default: return try publicKey(wire, field: field)
        }
        if !wire.unknownFields.isEmpty { throw InputValidation.invalid(field, "unknown fields") }
        return SigningPublicKey(trustedAlgorithm: algorithm, rawBytes: wire.keyBytes)
    }

    /// The wire form of a public key.
    public static func wire(_ key: SigningPublicKey) -> Healthledger_V1_PublicKey {
        var wire = Healthledger_V1_PublicKey()
        wire.algorithm = key.algorithm == .ed25519 ? .ed25519 : .ecdsaP256
        wire.keyBytes = key.rawBytes
        return wire
    }

    /// Whether `signature` by `key` covers exactly the body bytes (UNAUTHENTICATED otherwise).
    public static func verifySignature(
        of transaction: ValidatedTransaction, with key: SigningPublicKey, field: String = "transaction"
    ) throws(RPCError) {
        guard key.isValidSignature(transaction.signed.signature, for: transaction.signed.body) else {
            throw RPCError(.unauthenticated, "\(field).signature: does not verify with key \(key.keyID)")
        }
    }

    /// The message a RotateKey's new key signs to prove possession.
    public static func keyPossessionMessage(chainID: String, author: PrincipalID) -> [UInt8] {
        ContextLabel.message(
            context: ContextLabel.keyPossession, payload: Array(chainID.utf8) + [0] + Array(author.text.utf8))
    }

    private static func operation(
        _ wire: Healthledger_V1_TransactionBody.Operation, expecting expected: OperationKind?, author: PrincipalID,
        field: String
    ) throws(RPCError) -> ValidatedTransaction.Operation {
        let kind = expected ?? OperationKind(wire)
        switch (wire, kind) {
        case (.grant(let grant), .grant):
            return .grant(try self.grant(grant, field: "\(field).grant"))
        case (.revoke(let revoke), .revoke):
            let f = "\(field).revoke"
            if !revoke.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
            let grantID = try InputValidation.objectID(revoke.grantId, field: "\(f).grant_id")
            let delegation = try revoke.delegationGrantId.map { (id) throws(RPCError) in
                try InputValidation.objectID(id, field: "\(f).delegation_grant_id")
            }
            return .revoke(grantID: grantID, delegationGrantID: delegation)
        case (.writeRecord(let metadata), .writeRecord):
            return .writeRecord(try record(metadata, field: "\(field).write_record"))
        case (.rotateKey(let rotate), .rotateKey):
            let f = "\(field).rotate_key"
            if !rotate.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
            guard let wireKey = rotate.newPublicKey else {
                throw InputValidation.invalid("\(f).new_public_key", "required")
            }
            let key = try publicKey(wireKey, field: "\(f).new_public_key")
            if rotate.newKeyProof.count != 64 {
                throw InputValidation.invalid("\(f).new_key_proof", "must be 64 bytes, got \(rotate.newKeyProof.count)")
            }
            return .rotateKey(newKey: key, proof: rotate.newKeyProof)
        case (.erasureRequest(let erasure), .erasureRequest):
            let f = "\(field).erasure_request"
            if !erasure.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
            try InputValidation.text(erasure.reason, field: "\(f).reason", maxBytes: 1024)
            switch erasure.scope {
            case .records(let list)?:
                if !list.unknownFields.isEmpty { throw InputValidation.invalid("\(f).records", "unknown fields") }
                if list.recordIds.isEmpty || list.recordIds.count > 1000 {
                    throw InputValidation.invalid("\(f).records.record_ids", "1 to 1,000 record ids")
                }
                var ids: [String] = []
                for (index, id) in list.recordIds.enumerated() {
                    ids.append(try InputValidation.objectID(id, field: "\(f).records.record_ids[\(index)]"))
                }
                return .erasure(recordIDs: ids)
            case .allRecords(let all)?:
                if !all { throw InputValidation.invalid("\(f).all_records", "must be true when set") }
                return .erasure(recordIDs: nil)
            case nil:
                throw InputValidation.invalid(f, "records or all_records is required")
            }
        case (.emergencyAccess(let access), .emergencyAccess):
            let f = "\(field).emergency_access"
            if !access.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
            let patient = try InputValidation.principal(access.patient, field: "\(f).patient")
            let categories = try PolicyConversion.categories(access.categories, field: "\(f).categories", maxCount: 11)
            if !categories.set.intersection(.sensitive).isEmpty {
                throw InputValidation.invalid(
                    "\(f).categories", "sensitive categories are never opened by emergency access")
            }
            if access.reason.isEmpty {
                throw InputValidation.invalid("\(f).reason", "a justification is required for emergency access")
            }
            try InputValidation.text(access.reason, field: "\(f).reason", maxBytes: 1024)
            guard (1...maxEmergencyDurationMs).contains(access.durationMs) else {
                throw InputValidation.invalid("\(f).duration_ms", "must be 1 to \(maxEmergencyDurationMs)")
            }
            return .emergencyAccess(
                EmergencyAccessOperation(
                    patient: patient, categories: explicit(access.categories),
                    namesAll: categories.namesAll, reason: access.reason, durationMs: access.durationMs))
        default:
            throw InputValidation.invalid(field, "operation must be \(kind.fieldName) for this RPC")
        }
    }

    private static func explicit(_ values: [Healthledger_V1_DataCategory]) -> CategorySet {
        CategorySet(listing: values.compactMap { DataCategory(rawValue: UInt8(clamping: $0.rawValue)).map(CategoryListing.category) })
    }

    private static func grant(_ grant: Healthledger_V1_Grant, field f: String) throws(RPCError) -> GrantOperation {
        if !grant.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
        let patient = try InputValidation.principal(grant.patient, field: "\(f).patient")
        let effect = try PolicyConversion.effect(grant.effect, field: "\(f).effect")
        let grantee: Grantee
        if grant.grantee == "*" {
            if effect != .deny { throw InputValidation.invalid("\(f).grantee", "\"*\" is allowed only with EFFECT_DENY") }
            grantee = .everyone
        } else {
            let id = try InputValidation.principal(grant.grantee, field: "\(f).grantee")
            if id == patient { throw InputValidation.invalid("\(f).grantee", "must differ from patient") }
            grantee = .principal(id.text)
        }
        let actions = try PolicyConversion.actions(grant.actions, field: "\(f).actions")
        let categories = try PolicyConversion.categories(grant.categories, field: "\(f).categories")
        let purposes = try PolicyConversion.purposes(grant.purposes, field: "\(f).purposes")
        if grant.validFromUnixMs < 0 { throw InputValidation.invalid("\(f).valid_from_unix_ms", "must not be negative") }
        if let until = grant.validUntilUnixMs, until <= grant.validFromUnixMs {
            throw InputValidation.invalid("\(f).valid_until_unix_ms", "must be greater than valid_from_unix_ms")
        }
        let dates = try PolicyConversion.dateRange(grant.recordDateRange, field: "\(f).record_date_range")
        let delegation = try grant.delegationGrantId.map { (id) throws(RPCError) in
            try InputValidation.objectID(id, field: "\(f).delegation_grant_id")
        }
        try InputValidation.text(grant.note, field: "\(f).note", maxBytes: 1024)
        return GrantOperation(
            patient: patient, grantee: grantee, actions: actions, categories: categories.set, purposes: purposes,
            validFrom: grant.validFromUnixMs, validUntil: grant.validUntilUnixMs, recordDates: dates, effect: effect,
            delegationGrantID: delegation)
    }

    private static func record(_ metadata: Healthledger_V1_RecordMetadata, field f: String) throws(RPCError)
        -> RecordOperation
    {
        if !metadata.unknownFields.isEmpty { throw InputValidation.invalid(f, "unknown fields") }
        let patient = try InputValidation.principal(metadata.patient, field: "\(f).patient")
        let category = try PolicyConversion.recordCategory(metadata.category, field: "\(f).category")
        if metadata.contentSha256.count != 32 {
            throw InputValidation.invalid("\(f).content_sha256", "must be 32 bytes, got \(metadata.contentSha256.count)")
        }
        if metadata.sizeBytes > maxRecordBytes {
            throw InputValidation.invalid("\(f).size_bytes", "at most \(maxRecordBytes) bytes (64 GiB)")
        }
        if metadata.mediaType.isEmpty { throw InputValidation.invalid("\(f).media_type", "required") }
        if metadata.mediaType.utf8.count > 255 || !metadata.mediaType.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
            throw InputValidation.invalid("\(f).media_type", "1 to 255 printable ASCII bytes")
        }
        let amends = try metadata.amendsRecordId.map { (id) throws(RPCError) in
            try InputValidation.objectID(id, field: "\(f).amends_record_id")
        }
        if metadata.labels.count > 32 { throw InputValidation.invalid("\(f).labels", "at most 32 labels") }
        for (key, value) in metadata.labels {
            if !isLabelKey(key) {
                throw InputValidation.invalid(
                    "\(f).labels", "key \"\(key.prefix(64))\" must be 1 to 63 bytes of [a-z0-9._-] starting with a letter")
            }
            try InputValidation.text(value, field: "\(f).labels[\(key)]", maxBytes: 256)
        }
        return RecordOperation(
            patient: patient, category: category, contentSHA256: metadata.contentSha256, sizeBytes: metadata.sizeBytes,
            effectiveAt: metadata.effectiveAtUnixMs, amendsRecordID: amends)
    }

    /// Largest record the protocol allows: 64 GiB.
    public static let maxRecordBytes: UInt64 = 68_719_476_736

    private static func isLabelKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...63).contains(bytes.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) else {
            return false
        }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    private static func requireNoUnknownFields(_ body: Healthledger_V1_TransactionBody, field: String) throws(RPCError) {
        if !body.unknownFields.isEmpty { throw InputValidation.invalid(field, "unknown fields") }
    }
}
