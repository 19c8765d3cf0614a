import COpenSSL

/// SHA-256 (FIPS 180-4) through libcrypto: the hash of transaction ids, key ids, principal ids, Merkle leaves and
/// record contents.
public enum SHA256 {
    /// Number of bytes in a digest.
    public static let byteCount = 32

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of the bytes in `buffer`.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { digest, count in
            // EVP_Digest with a fetched-once EVP_MD avoids OpenSSL 3's per-call algorithm lookup.
            let ok = EVP_Digest(buffer.baseAddress, buffer.count, digest.baseAddress, nil, SHA256Hasher.algorithm, nil)
            precondition(ok == 1, "EVP_Digest(SHA-256) failed")
            count = byteCount
        }
    }
}

/// An incremental SHA-256, for content that arrives in pieces (record uploads).
public struct SHA256Hasher: ~Copyable {
    nonisolated(unsafe) static let algorithm: OpaquePointer = EVP_MD_fetch(nil, "SHA256", nil)!

    private let context: OpaquePointer

    /// A hasher with nothing hashed yet.
    public init() {
        context = EVP_MD_CTX_new()!
        precondition(EVP_DigestInit_ex(context, Self.algorithm, nil) == 1, "EVP_DigestInit_ex(SHA-256) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `bytes` to what has been hashed.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds `bytes` to what has been hashed.
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds the bytes in `buffer` to what has been hashed.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The digest of everything added; the hasher cannot be used afterwards.
    public consuming func finalize() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: SHA256.byteCount) { digest, count in
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(context, digest.baseAddress, &length) == 1, "EVP_DigestFinal_ex failed")
            count = Int(length)
        }
    }
}
