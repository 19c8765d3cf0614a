import COpenSSL

/// A private signing key.
public struct SigningPrivateKey: Sendable {
    /// The algorithm, which fixes the formats of the key and its signatures.
    public let algorithm: SignatureAlgorithm
    /// Raw private key: Ed25519 32-byte seed; P-256 32-byte big-endian scalar.
    public let rawBytes: [UInt8]
    /// The matching public key.
    public let publicKey: SigningPublicKey
    /// The parsed key, made once here.
    private let key: LibcryptoKey

    /// A new random key.
    public static func generate(_ algorithm: SignatureAlgorithm) -> SigningPrivateKey {
        while true {
            let candidate = SecureRandom.bytes(32)
            // Every 32 bytes are an Ed25519 seed; a P-256 scalar falls outside 1...n-1 with probability < 2^-32.
            if algorithm == .ecdsaP256 && !P256.isValidScalar(candidate) { continue }
            do {
                return try SigningPrivateKey(algorithm: algorithm, rawBytes: candidate)
            } catch {
                preconditionFailure("a valid random \(algorithm) key was rejected: \(error)")
            }
        }
    }

    /// Raw private key: Ed25519 32-byte seed; P-256 32-byte big-endian scalar (validate range 1..n-1).
    public init(algorithm: SignatureAlgorithm, rawBytes: [UInt8]) throws(CryptoKeyError) {
        let publicBytes: [UInt8]
        switch algorithm {
        case .ed25519:
            guard rawBytes.count == 32 else {
                throw CryptoKeyError("Ed25519 private key must be 32 bytes, got \(rawBytes.count)")
            }
            guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, rawBytes, rawBytes.count) else {
                Libcrypto.clearErrors()
                throw CryptoKeyError("Ed25519 private key was rejected by libcrypto")
            }
            self.key = LibcryptoKey(taking: key)
            publicBytes = [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
                var length = 32
                precondition(
                    EVP_PKEY_get_raw_public_key(key, buffer.baseAddress, &length) == 1 && length == 32,
                    "EVP_PKEY_get_raw_public_key failed")
                count = length
            }
        case .ecdsaP256:
            guard rawBytes.count == 32 else {
                throw CryptoKeyError("P-256 private key must be 32 bytes, got \(rawBytes.count)")
            }
            guard P256.isValidScalar(rawBytes) else {
                throw CryptoKeyError("P-256 private key must be in the range 1...n-1 of the curve order")
            }
            (key, publicBytes) = P256.privateKey(scalar: rawBytes)
        }
        do {
            publicKey = try SigningPublicKey(algorithm: algorithm, rawBytes: publicBytes)
        } catch {
            // Only an Ed25519 seed whose public key is a small-order point could get here; none is known.
            throw CryptoKeyError("private key gives an unusable public key: \(error)")
        }
        self.algorithm = algorithm
        self.rawBytes = rawBytes
    }

    /// 64-byte signature over message (Ed25519 R||S; P-256 r||s fixed 32+32, converted from DER, SHA-256 hash).
    public func signature(for message: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .ed25519:
            return key.signature(for: message, digest: nil, maximumByteCount: 64)
        case .ecdsaP256:
            let der = key.signature(for: message, digest: SHA256Hasher.algorithm, maximumByteCount: 72)
            guard let raw = ECDSASignatureEncoding.raw(fromDER: der) else {
                preconditionFailure("libcrypto produced an ECDSA signature that is not DER r, s")
            }
            return raw
        }
    }

    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the format `openssl pkey` reads.
    public var pemRepresentation: String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(
            PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1, "PEM_write_bio_PrivateKey failed")
        let pending = Int(BIO_ctrl_pending(bio))
        var pem = [UInt8](unsafeUninitializedCapacity: pending) { buffer, count in
            count = Int(BIO_read(bio, buffer.baseAddress, Int32(pending)))
            precondition(count == pending, "BIO_read failed")
        }
        defer { OPENSSL_cleanse(&pem, pem.count) }
        return String(decoding: pem, as: UTF8.self)
    }

    /// The key in a PEM: PKCS#8 ("PRIVATE KEY") holding Ed25519 or EC P-256, or SEC1 ("EC PRIVATE KEY") P-256;
    /// throws for other algorithms and curves, encrypted PEMs and text that holds no private key.
    public init(pemRepresentation: String) throws(CryptoKeyError) {
        var pem = Array(pemRepresentation.utf8)
        defer { OPENSSL_cleanse(&pem, pem.count) }
        if pemRepresentation.contains("ENCRYPTED") {
            throw CryptoKeyError("encrypted PEM private keys are not supported; decrypt with `openssl pkey` first")
        }
        guard let parsed = Self.parsePEM(pem) else {
            Libcrypto.clearErrors()
            throw CryptoKeyError("PEM does not hold a private key")
        }
        defer { EVP_PKEY_free(parsed) }
        if EVP_PKEY_is_a(parsed, "ED25519") == 1 {
            var seed = [UInt8](repeating: 0, count: 32)
            defer { OPENSSL_cleanse(&seed, seed.count) }
            var length = 32
            guard EVP_PKEY_get_raw_private_key(parsed, &seed, &length) == 1, length == 32 else {
                Libcrypto.clearErrors()
                throw CryptoKeyError("PEM Ed25519 private key has no 32-byte seed")
            }
            try self.init(algorithm: .ed25519, rawBytes: seed)
        } else if EVP_PKEY_is_a(parsed, "EC") == 1 {
            let curve = Self.curveName(of: parsed)
            guard curve == "prime256v1" || curve == "P-256" || curve == "secp256r1" else {
                throw CryptoKeyError(
                    "PEM EC private key is on curve \(curve ?? "with explicit parameters"); only P-256 is supported")
            }
            var scalar = [UInt8](repeating: 0, count: 32)
            defer { OPENSSL_cleanse(&scalar, scalar.count) }
            var secret: OpaquePointer?
            guard EVP_PKEY_get_bn_param(parsed, "priv", &secret) == 1, let secret else {
                Libcrypto.clearErrors()
                throw CryptoKeyError("PEM EC private key has no private scalar")
            }
            let written = BN_bn2binpad(secret, &scalar, 32)
            BN_clear_free(secret)
            guard written == 32 else {
                Libcrypto.clearErrors()
                throw CryptoKeyError("P-256 private key must be in the range 1...n-1 of the curve order")
            }
            try self.init(algorithm: .ecdsaP256, rawBytes: scalar)
        } else {
            let type = EVP_PKEY_get0_type_name(parsed).map { String(cString: $0) } ?? "unknown"
            throw CryptoKeyError("PEM holds a private key of type \(type); only Ed25519 and EC P-256 are supported")
        }
    }

    /// The EVP_PKEY of the first private key in `pem`, or nil.
    private static func parsePEM(_ pem: [UInt8]) -> OpaquePointer? {
        pem.withUnsafeBytes { bytes -> OpaquePointer? in
            guard let start = bytes.baseAddress, let bio = BIO_new_mem_buf(start, Int32(bytes.count)) else {
                return nil
            }
            defer { BIO_free(bio) }
            // A password callback that refuses: libcrypto's default would prompt on the terminal.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil)
        }
    }

    /// libcrypto's name of an EC key's named curve, or nil when it has explicit parameters.
    private static func curveName(of key: OpaquePointer) -> String? {
        var name = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
            Libcrypto.clearErrors()
            return nil
        }
        return String(decoding: name[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SigningPrivateKey: CustomStringConvertible, CustomDebugStringConvertible {
    /// The algorithm and public key id, never the secret.
    public var description: String {
        "SigningPrivateKey(\(algorithm), public key id \(publicKey.keyID))"
    }

    /// As `description`: the secret stays out of logs and debugger output.
    public var debugDescription: String { description }
}

extension SigningPrivateKey: CustomReflectable {
    /// The algorithm and public key only, so `dump` does not print the secret either.
    public var customMirror: Mirror {
        Mirror(self, children: ["algorithm": algorithm, "publicKey": publicKey])
    }
}
