import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire

/// Builds and signs transactions (transaction.proto): the body is encoded once, deterministically, and the
/// signature covers exactly those bytes.
public struct TransactionSigner: Sendable {
    /// Who signs.
    public let identity: LedgerIdentity
    /// The chain the transactions are for (GetChainHead.chain_id).
    public let chainID: String

    /// A signer for `identity` on chain `chainID`.
    public init(identity: LedgerIdentity, chainID: String) {
        self.identity = identity
        self.chainID = chainID
    }

    /// A signed transaction carrying `operation` with the author's `sequence`. The public key is attached when
    /// `attachPublicKey` is set (required on the author's first transaction).
    public func sign(
        _ operation: Healthledger_V1_TransactionBody.Operation, sequence: UInt64, createdAt: Int64,
        expiresAt: Int64? = nil, attachPublicKey: Bool
    ) -> Healthledger_V1_SignedTransaction {
        var body = Healthledger_V1_TransactionBody()
        body.chainId = chainID
        body.author = identity.id
        body.sequence = sequence
        body.createdAtUnixMs = createdAt
        body.expiresAtUnixMs = expiresAt
        body.operation = operation
        let bytes = body.serializedBytes()
        var signed = Healthledger_V1_SignedTransaction()
        signed.body = bytes
        signed.signature = identity.key.signature(for: bytes)
        signed.keyId = identity.key.publicKey.keyID
        if attachPublicKey { signed.publicKey = identity.wirePublicKey }
        return signed
    }

    /// The transaction id (lowercase hex SHA-256 of the body) of `transaction`.
    public static func transactionID(of transaction: Healthledger_V1_SignedTransaction) -> String {
        Hex.encode(SHA256.hash(transaction.body))
    }

    /// The signature a session challenge needs (CreateSessionRequest.signature).
    public func sessionSignature(challenge: [UInt8]) -> [UInt8] {
        identity.key.signature(
            for: ContextLabel.message(
                context: ContextLabel.session,
                payload: Array(chainID.utf8) + [0] + Array(identity.id.utf8) + [0] + challenge))
    }

    /// The proof that the signer holds `newKey`, for a RotateKey transaction.
    public func keyPossessionProof(newKey: SigningPrivateKey) -> [UInt8] {
        newKey.signature(
            for: ContextLabel.message(
                context: ContextLabel.keyPossession, payload: Array(chainID.utf8) + [0] + Array(identity.id.utf8)))
    }
}
