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
            hash(buffer, into: UnsafeMutableRawBufferPointer(digest))
            count = byteCount
        }
    }

    /// Writes the digest of the bytes in `buffer` to the first 32 bytes of `digest`, allocating nothing: for callers
    /// that hash millions of small inputs (Merkle nodes and leaves).
    public static func hash(_ buffer: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        precondition(digest.count >= byteCount, "a SHA-256 digest needs \(byteCount) bytes, not \(digest.count)")
        // A stack context: EVP_Digest allocates and initialises one through the provider on every call, which
        // costs more than hashing the 65 bytes of a Merkle node. A nil start is fine for no bytes.
        healthledger_sha256(buffer.baseAddress, buffer.count, digest.baseAddress?.assumingMemoryBound(to: UInt8.self))
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
