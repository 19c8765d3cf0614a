/// The signature algorithms of principals' and the node's keys.
public enum SignatureAlgorithm: Sendable, Hashable, CaseIterable {
    /// Ed25519 as in RFC 8032 (pure, no pre-hash, no context): 32-byte keys, 64-byte signatures R || S.
    case ed25519
    /// ECDSA over NIST P-256 with SHA-256: 65-byte uncompressed SEC1 public keys, 64-byte signatures r || s.
    case ecdsaP256
}

/// Why key bytes, a signature or a PEM could not be used; `description` is one line naming what is wrong
/// (e.g. "Ed25519 public key must be 32 bytes, got 31", "P-256 public key is not a point on the curve").
public struct CryptoKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in one line.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
