import LedgerCrypto
import Testing

/// Randomness and constant-time comparison, behind nonces, keys and session tokens.
@Suite("Secure random bytes and constant-time comparison")
struct SecureRandomTests {
    @Test("random bytes come in the count asked for and differ from call to call")
    func randomBytes() {
        #expect(SecureRandom.bytes(0) == [])
        #expect(SecureRandom.bytes(1).count == 1)
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        #expect(a.count == 32 && a != b)
    }

    @Test("equal tokens compare equal; a different byte or length does not")
    func constantTimeEquals() {
        let token = SecureRandom.bytes(32)
        #expect(ConstantTime.equals(token, token))
        #expect(ConstantTime.equals([], []))
        #expect(!ConstantTime.equals(token, flippingBit(255, of: token)))
        #expect(!ConstantTime.equals(token, Array(token.dropLast())))
    }
}
