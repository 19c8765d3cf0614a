import HealthLedgerProtos
import LedgerCrypto

/// Who a client acts as: a principal id and the private key that currently signs for it.
public struct LedgerIdentity: Sendable {
    /// The principal id (fixed by the principal's first key).
    public let principalID: PrincipalID
    /// The key that signs for the principal now.
    public let key: SigningPrivateKey

    /// A new principal with a fresh key (Ed25519 unless said otherwise).
    public static func generate(_ algorithm: SignatureAlgorithm = .ed25519) -> LedgerIdentity {
        LedgerIdentity(firstKey: SigningPrivateKey.generate(algorithm))
    }

    /// The principal whose first key is `firstKey`.
    public init(firstKey: SigningPrivateKey) {
        key = firstKey
        principalID = PrincipalID(firstKey: firstKey.publicKey)
    }

    /// A principal that signs with `key` after a rotation.
    public init(principalID: PrincipalID, key: SigningPrivateKey) {
        self.principalID = principalID
        self.key = key
    }

    /// The principal id text, for request fields.
    public var id: String { principalID.text }

    /// The wire form of the current public key.
    public var wirePublicKey: Healthledger_V1_PublicKey {
        var wire = Healthledger_V1_PublicKey()
        wire.algorithm = key.algorithm == .ed25519 ? .ed25519 : .ecdsaP256
        wire.keyBytes = key.publicKey.rawBytes
        return wire
    }
}
