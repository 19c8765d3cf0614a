import COpenSSL
import CSodium
import Synchronization

/// A public signing key: verifies signatures. Immutable and Sendable; parse once, verify many times concurrently.
public struct SigningPublicKey: Sendable, Hashable {
    /// The algorithm, which fixes the formats of the key and its signatures.
    public let algorithm: SignatureAlgorithm
    /// Raw key bytes: 32 for Ed25519; 65 for P-256 (uncompressed SEC1 0x04||X||Y).
    public let rawBytes: [UInt8]
    /// The parsed key, made once so verification does not parse again: here, or at first use for a trusted key.
    private let key: KeyHandle

    /// The key with these raw bytes; throws when their length is wrong or they are not a usable point
    /// (off the curve, a P-256 point that is not uncompressed, an Ed25519 small-order point such as the identity).
    public init(algorithm: SignatureAlgorithm, rawBytes: [UInt8]) throws(CryptoKeyError) {
        switch algorithm {
        case .ed25519:
            guard rawBytes.count == 32 else {
                throw CryptoKeyError("Ed25519 public key must be 32 bytes, got \(rawBytes.count)")
            }
            if let problem = Ed25519PointEncoding.problem(with: rawBytes) { throw CryptoKeyError(problem) }
            guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawBytes, rawBytes.count) else {
                Libcrypto.clearErrors()
                throw CryptoKeyError("Ed25519 public key was rejected by libcrypto")
            }
            self.key = .made(LibcryptoKey(taking: key))
        case .ecdsaP256:
            guard rawBytes.count == 65 else {
                throw CryptoKeyError("P-256 public key must be 65 bytes (0x04 || X || Y), got \(rawBytes.count)")
            }
            guard rawBytes[0] == 0x04 else {
                let prefix = Hex.encode(rawBytes[0...0])
                throw CryptoKeyError(
                    "P-256 public key must be an uncompressed point starting with 0x04, got 0x\(prefix)")
            }
            guard let key = P256.publicKey(point: rawBytes) else {
                throw CryptoKeyError("P-256 public key is not a point on the curve")
            }
            self.key = .made(key)
        }
        self.algorithm = algorithm
        self.rawBytes = rawBytes
    }

    /// A key whose bytes were checked by `init(algorithm:rawBytes:)` when first seen and come back from the node's
    /// own checksummed storage: nothing is checked now, and the libcrypto key is made when it first verifies a
    /// signature (a node start restores tens of thousands of keys; making each costs microseconds). Bytes that turn
    /// out unusable then verify nothing. Never use it for bytes from a client.
    public init(trustedAlgorithm algorithm: SignatureAlgorithm, rawBytes: [UInt8]) {
        self.algorithm = algorithm
        self.rawBytes = rawBytes
        key = .deferred(DeferredLibcryptoKey(algorithm: algorithm, rawBytes: rawBytes))
    }

    /// Key id: lowercase hex SHA-256 of rawBytes (64 chars).
    public var keyID: String {
        Hex.encode(SHA256.hash(rawBytes))
    }

    /// True when `signature` (exactly 64 bytes: Ed25519 R || S, or P-256 r || s big-endian 32 + 32) is valid for
    /// `message`; ECDSA hashes the message with SHA-256 and accepts both low-S and high-S. Any other length is false.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    /// True when `signature` is valid for the bytes in `message`; as `isValidSignature(_:for:)` with an array.
    /// Ed25519 signatures whose R is a small-order point are invalid too (no honest signer makes one).
    public func isValidSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer) -> Bool {
        guard signature.count == 64 else { return false }
        switch algorithm {
        case .ed25519:
            return Self.isValidEd25519(signature, for: message, publicKey: rawBytes)
        case .ecdsaP256:
            guard let key = key.made else { return false }
            let der = ECDSASignatureEncoding.der(fromRaw: signature)
            return der.withUnsafeBytes { key.isValid(signature: $0, message: message, digest: SHA256Hasher.algorithm) }
        }
    }

    /// Ed25519 verification through libsodium, which does twice as many per second as libcrypto here (BENCHMARKS.md,
    /// "Proofs and verification"): cofactorless as RFC 8032 and libcrypto are, S below the group order, and the key
    /// checked again (canonical, not of small order); unlike libcrypto it also rejects a small-order R.
    private static func isValidEd25519(
        _ signature: [UInt8], for message: UnsafeRawBufferPointer, publicKey: [UInt8]
    ) -> Bool {
        guard publicKey.count == 32, sodiumIsReady else { return false }
        return signature.withUnsafeBufferPointer { signature in
            publicKey.withUnsafeBufferPointer { publicKey in
                crypto_sign_verify_detached(
                    signature.baseAddress!, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count), publicKey.baseAddress!) == 0
            }
        }
    }

    /// libsodium's one-time set-up (it picks its code for this CPU); thread-safe, as a static's first use is.
    private static let sodiumIsReady = sodium_init() >= 0

    /// Equal when algorithm and raw bytes are.
    public static func == (lhs: SigningPublicKey, rhs: SigningPublicKey) -> Bool {
        lhs.algorithm == rhs.algorithm && lhs.rawBytes == rhs.rawBytes
    }

    /// Hashes algorithm and raw bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(algorithm)
        hasher.combine(rawBytes)
    }
}

/// A public key's libcrypto key: made when the key was parsed, or deferred to its first use.
private enum KeyHandle: Sendable {
    case made(LibcryptoKey)
    case deferred(DeferredLibcryptoKey)

    /// The libcrypto key; nil when deferred bytes turn out unusable.
    var made: LibcryptoKey? {
        switch self {
        case .made(let key): key
        case .deferred(let deferred): deferred.key()
        }
    }
}

/// The libcrypto key of a trusted public key, made on first use and then kept.
private final class DeferredLibcryptoKey: Sendable {
    private let algorithm: SignatureAlgorithm
    private let rawBytes: [UInt8]
    private let made = Mutex<LibcryptoKey?>(nil)

    init(algorithm: SignatureAlgorithm, rawBytes: [UInt8]) {
        self.algorithm = algorithm
        self.rawBytes = rawBytes
    }

    func key() -> LibcryptoKey? {
        made.withLock { made in
            if let made { return made }
            switch algorithm {
            case .ed25519:
                guard rawBytes.count == 32,
                    let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawBytes, rawBytes.count)
                else {
                    Libcrypto.clearErrors()
                    return nil
                }
                made = LibcryptoKey(taking: key)
            case .ecdsaP256:
                made = P256.publicKey(point: rawBytes)
            }
            return made
        }
    }
}
