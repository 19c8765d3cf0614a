import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto

/// Which RPC a transaction was submitted to, and so which operation it must carry.
public enum OperationKind: Sendable, Hashable {
    case grant, revoke, writeRecord, rotateKey, erasureRequest, emergencyAccess

    /// The kind of a wire operation.
    public init(_ operation: Healthledger_V1_TransactionBody.Operation) {
        switch operation {
        case .grant: self = .grant
        case .revoke: self = .revoke
        case .writeRecord: self = .writeRecord
        case .rotateKey: self = .rotateKey
        case .erasureRequest: self = .erasureRequest
        case .emergencyAccess: self = .emergencyAccess
        }
    }

    /// The TransactionBody field name of the operation, for messages.
    public var fieldName: String {
        switch self {
        case .grant: "grant"
        case .revoke: "revoke"
        case .writeRecord: "write_record"
        case .rotateKey: "rotate_key"
        case .erasureRequest: "erasure_request"
        case .emergencyAccess: "emergency_access"
        }
    }
}

/// A grant operation whose fields are well formed.
public struct GrantOperation: Sendable, Hashable {
    public var patient: PrincipalID
    public var grantee: Grantee
    public var actions: ActionSet
    public var categories: CategorySet
    public var purposes: PurposeSet
    public var validFrom: Int64
    public var validUntil: Int64?
    public var recordDates: TimeRange?
    public var effect: Effect
    public var delegationGrantID: String?
}

/// A record write whose metadata is well formed.
public struct RecordOperation: Sendable, Hashable {
    public var patient: PrincipalID
    public var category: DataCategory
    public var contentSHA256: [UInt8]
    public var sizeBytes: UInt64
    public var effectiveAt: Int64
    public var amendsRecordID: String?
}

/// An emergency access request whose fields are well formed.
public struct EmergencyAccessOperation: Sendable, Hashable {
    public var patient: PrincipalID
    /// The concrete categories named (DATA_CATEGORY_ALL left out; see `namesAll`).
    public var categories: CategorySet
    /// Whether DATA_CATEGORY_ALL was named: every emergency category of the node.
    public var namesAll: Bool
    public var reason: String
    public var durationMs: Int64
}

/// A transaction that passed every check that needs no ledger state: envelope sizes, the exact deterministic
/// body encoding, field formats. Its signature is checked separately against the author's key.
public struct ValidatedTransaction: Sendable {
    /// What the transaction does, with its fields parsed.
    public enum Operation: Sendable {
        case grant(GrantOperation)
        case revoke(grantID: String, delegationGrantID: String?)
        case writeRecord(RecordOperation)
        case rotateKey(newKey: SigningPublicKey, proof: [UInt8])
        case erasure(recordIDs: [String]?)
        case emergencyAccess(EmergencyAccessOperation)
    }

    /// Transaction id: lowercase hex SHA-256 of the body bytes.
    public var id: String
    /// SHA-256 of the body bytes.
    public var digest: [UInt8]
    /// The envelope as submitted.
    public var signed: Healthledger_V1_SignedTransaction
    /// The decoded body.
    public var body: Healthledger_V1_TransactionBody
    /// Who signed.
    public var author: PrincipalID
    /// The public key sent with the envelope, parsed, when there was one.
    public var attachedKey: SigningPublicKey?
    /// The operation.
    public var operation: Operation
}
