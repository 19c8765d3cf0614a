import COpenSSL

/// AES-256-GCM (NIST SP 800-38D) with 12-byte nonces and 16-byte tags: encrypts record content at rest and wraps
/// data keys.
public struct AES256GCM: Sendable {
    /// Bytes in a key.
    public static let keyByteCount = 32
    /// Bytes in a nonce; a nonce must never be used twice with one key.
    public static let nonceByteCount = 12
    /// Bytes in the authentication tag that ends every sealed message.
    public static let tagByteCount = 16

    /// Why a sealed message was not opened: the key, nonce, tag, ciphertext or authenticated data does not match.
    public struct AuthenticationFailure: Error, Sendable, Hashable {
        /// The failure.
        public init() {}
    }

    nonisolated(unsafe) private static let cipher: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)!
    /// libcrypto takes at most Int32.max bytes per update call.
    private static let updateLimit = 1 << 30

    private let key: [UInt8]

    /// A cipher with a 32-byte key.
    public init(key: [UInt8]) throws(CryptoKeyError) {
        guard key.count == Self.keyByteCount else {
            throw CryptoKeyError("AES-256-GCM key must be \(Self.keyByteCount) bytes, got \(key.count)")
        }
        self.key = key
    }

    /// ciphertext || tag; `nonce` must be 12 bytes and never used twice with this key.
    public func seal(_ plaintext: [UInt8], nonce: [UInt8], authenticating aad: [UInt8] = []) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, nonce: nonce, authenticating: aad) }
    }

    /// ciphertext || tag of the bytes in `plaintext`, read in place; `nonce` as for the array form.
    public func seal(_ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], authenticating aad: [UInt8] = []) -> [UInt8] {
        precondition(nonce.count == Self.nonceByteCount, "AES-256-GCM nonce must be 12 bytes, got \(nonce.count)")
        let context = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(context) }
        precondition(EVP_EncryptInit_ex2(context, Self.cipher, key, nonce, nil) == 1, "EVP_EncryptInit_ex2 failed")
        return [UInt8](unsafeUninitializedCapacity: plaintext.count + Self.tagByteCount) { sealed, count in
            let output = UnsafeMutableRawBufferPointer(sealed)
            precondition(Self.update(context, aad: aad, encrypt: true), "EVP_EncryptUpdate(aad) failed")
            precondition(
                Self.update(context, input: plaintext, output: output, encrypt: true), "EVP_EncryptUpdate failed")
            var finalCount: Int32 = 0
            precondition(
                EVP_EncryptFinal_ex(context, sealed.baseAddress! + plaintext.count, &finalCount) == 1
                    && finalCount == 0,
                "EVP_EncryptFinal_ex failed")
            precondition(
                EVP_CIPHER_CTX_ctrl(
                    context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagByteCount), sealed.baseAddress! + plaintext.count)
                    == 1,
                "EVP_CTRL_AEAD_GET_TAG failed")
            count = plaintext.count + Self.tagByteCount
        }
    }

    /// Plaintext, or throws AuthenticationFailure when the tag or aad does not match.
    public func open(
        _ sealed: [UInt8], nonce: [UInt8], authenticating aad: [UInt8] = []
    ) throws(AES256GCM.AuthenticationFailure) -> [UInt8] {
        try sealed.withUnsafeBytes { sealed in
            Result { () throws(AuthenticationFailure) in try open(sealed, nonce: nonce, authenticating: aad) }
        }.get()
    }

    /// Plaintext of the ciphertext || tag in `sealed`, read in place; throws AuthenticationFailure as `open` does,
    /// also for a nonce of the wrong length or input shorter than a tag.
    public func open(
        _ sealed: UnsafeRawBufferPointer, nonce: [UInt8], authenticating aad: [UInt8] = []
    ) throws(AES256GCM.AuthenticationFailure) -> [UInt8] {
        guard nonce.count == Self.nonceByteCount, sealed.count >= Self.tagByteCount else {
            throw AuthenticationFailure()
        }
        let ciphertextCount = sealed.count - Self.tagByteCount
        let ciphertext = UnsafeRawBufferPointer(rebasing: sealed[..<ciphertextCount])
        var tag = Array(sealed[ciphertextCount...])
        let context = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(context) }
        precondition(EVP_DecryptInit_ex2(context, Self.cipher, key, nonce, nil) == 1, "EVP_DecryptInit_ex2 failed")
        var authentic = false
        let plaintext = [UInt8](unsafeUninitializedCapacity: ciphertextCount) { plaintext, count in
            let output = UnsafeMutableRawBufferPointer(plaintext)
            authentic =
                Self.update(context, aad: aad, encrypt: false)
                && Self.update(context, input: ciphertext, output: output, encrypt: false)
                && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagByteCount), &tag) == 1
                && Self.finishDecryption(context)
            if authentic {
                count = ciphertextCount
            } else {
                // Unauthenticated plaintext must not linger in freed memory.
                if let start = output.baseAddress { OPENSSL_cleanse(start, output.count) }
                count = 0
            }
        }
        guard authentic else {
            Libcrypto.clearErrors()
            throw AuthenticationFailure()
        }
        return plaintext
    }

    private static func update(_ context: OpaquePointer, aad: [UInt8], encrypt: Bool) -> Bool {
        aad.withUnsafeBytes { aad in
            var offset = 0
            while offset < aad.count {
                let chunk = min(aad.count - offset, updateLimit)
                var written: Int32 = 0
                let start = aad.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
                let ok =
                    encrypt
                    ? EVP_EncryptUpdate(context, nil, &written, start, Int32(chunk))
                    : EVP_DecryptUpdate(context, nil, &written, start, Int32(chunk))
                guard ok == 1 else { return false }
                offset += chunk
            }
            return true
        }
    }

    private static func update(
        _ context: OpaquePointer, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, encrypt: Bool
    ) -> Bool {
        var offset = 0
        while offset < input.count {
            let chunk = min(input.count - offset, updateLimit)
            var written: Int32 = 0
            let source = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
            let target = output.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
            let ok =
                encrypt
                ? EVP_EncryptUpdate(context, target, &written, source, Int32(chunk))
                : EVP_DecryptUpdate(context, target, &written, source, Int32(chunk))
            // GCM is a stream mode: every update writes exactly what it reads.
            guard ok == 1, Int(written) == chunk else { return false }
            offset += chunk
        }
        return true
    }

    private static func finishDecryption(_ context: OpaquePointer) -> Bool {
        var written: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        return EVP_DecryptFinal_ex(context, &scratch, &written) == 1 && written == 0
    }
}
