import COpenSSL

/// A libcrypto key (EVP_PKEY) shared by key values and freed with the last of them.
///
/// `@unchecked Sendable`: nothing modifies the EVP_PKEY after it is made, and libcrypto allows concurrent
/// signing and verification with one key as long as each operation has its own EVP_MD_CTX.
final class LibcryptoKey: @unchecked Sendable {
    /// The EVP_PKEY, owned by this object.
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// A signature over `message` in libcrypto's format (Ed25519 R || S, or ECDSA DER), `digest` nil for Ed25519.
    func signature(for message: [UInt8], digest: OpaquePointer?, maximumByteCount: Int) -> [UInt8] {
        let context = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(context) }
        precondition(EVP_DigestSignInit(context, nil, digest, nil, pointer) == 1, "EVP_DigestSignInit failed")
        return [UInt8](unsafeUninitializedCapacity: maximumByteCount) { signature, count in
            var length = maximumByteCount
            let signed = message.withUnsafeBytes { message in
                Libcrypto.withBytes(message) { bytes, byteCount in
                    EVP_DigestSign(context, signature.baseAddress, &length, bytes, byteCount)
                }
            }
            precondition(signed == 1, "EVP_DigestSign failed")
            count = length
        }
    }

    /// True when `signature` (in libcrypto's format) is valid for `message`; `digest` nil for Ed25519.
    func isValid(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, digest: OpaquePointer?) -> Bool {
        // A fresh context per call: contexts are cheap and never shared between threads.
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, digest, nil, pointer) == 1 else {
            Libcrypto.clearErrors()
            return false
        }
        let verified = Libcrypto.withBytes(signature) { signatureBytes, signatureCount in
            Libcrypto.withBytes(message) { messageBytes, messageCount in
                EVP_DigestVerify(context, signatureBytes, signatureCount, messageBytes, messageCount)
            }
        }
        guard verified == 1 else {
            Libcrypto.clearErrors()
            return false
        }
        return true
    }
}

/// Small helpers around libcrypto's C conventions.
enum Libcrypto {
    /// Empties this thread's OpenSSL error queue, so a failed key or signature check leaves nothing behind that a
    /// later TLS call on the same thread could mistake for its own error.
    static func clearErrors() {
        ERR_clear_error()
    }

    /// Calls `body` with a non-null start and the count of `buffer`; libcrypto rejects NULL even for empty input.
    static func withBytes<R>(
        _ buffer: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>, Int) -> R
    ) -> R {
        if let start = buffer.baseAddress {
            return body(start.assumingMemoryBound(to: UInt8.self), buffer.count)
        }
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { body($0, 0) }
    }

    /// The C string of a static string, valid for the life of the program (for OSSL_PARAM names and values).
    static func cString(_ string: StaticString) -> UnsafeMutablePointer<CChar> {
        UnsafeMutableRawPointer(mutating: string.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
