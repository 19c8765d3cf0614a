import COpenSSL

/// Cryptographically secure random bytes (RAND_bytes).
public enum SecureRandom {
    /// `count` random bytes from libcrypto's CSPRNG; stops the program if it cannot deliver them.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var offset = 0
            while offset < count {
                let chunk = min(count - offset, 1 << 30)
                precondition(RAND_bytes(buffer.baseAddress! + offset, Int32(chunk)) == 1, "RAND_bytes failed")
                offset += chunk
            }
            initialized = count
        }
    }
}
