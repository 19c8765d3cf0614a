import COpenSSL

/// HMAC-SHA256 (RFC 2104) through libcrypto: keyed pseudonyms for the research feed.
public enum HMACSHA256 {
    /// Number of bytes in a tag.
    public static let byteCount = 32

    /// The HMAC-SHA256 tag of `message` under `key`.
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        // libcrypto wants a non-null key pointer even for an empty key.
        let keyBytes = key.isEmpty ? [0] : key
        return [UInt8](unsafeUninitializedCapacity: byteCount) { tag, count in
            var written = 0
            let result = keyBytes.withUnsafeBytes { keyBuffer in
                message.withUnsafeBufferPointer { data in
                    EVP_Q_mac(
                        nil, "HMAC", nil, "SHA256", nil, keyBuffer.baseAddress, key.count, data.baseAddress,
                        data.count, tag.baseAddress, byteCount, &written)
                }
            }
            precondition(result != nil && written == byteCount, "EVP_Q_mac(HMAC-SHA256) failed")
            count = byteCount
        }
    }
}
