import LedgerCrypto
import Testing

/// HMAC-SHA256 (RFC 4231 vectors) and the research feed's pseudonyms built on it.
@Suite("HMAC-SHA256 and research pseudonyms")
struct ResearchPseudonymTests {
    @Test("RFC 4231 test cases 1, 2 and 6 and the empty key give the published tags")
    func rfc4231() {
        #expect(
            HMACSHA256.authenticationCode(for: Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20))
                == bytes("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
        #expect(
            HMACSHA256.authenticationCode(for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
                == bytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        #expect(
            HMACSHA256.authenticationCode(
                for: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                key: [UInt8](repeating: 0xaa, count: 131))
                == bytes("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"))
        #expect(
            HMACSHA256.authenticationCode(for: [], key: [])
                == bytes("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"))
    }

    /// The published vector (docs/LEDGER.md): node secret 00 01 02 ... 1f.
    static let secret = (0..<32).map { UInt8($0) }

    @Test("the published vector: researcher key and pseudonyms for the secret 00..1f")
    func publishedVector() {
        let alpha = ResearchPseudonym(secret: Self.secret, researcher: "hl1researcheralpha")
        #expect(alpha.researcherKey == bytes("4ca1d5cbad9108a5d5e6dac1a745cb9c924c4f8ce37b8cbd5ada19e576be52d4"))
        #expect(alpha.pseudonym(of: "hl1patientone") == "ps-a91a19eceb1030d966424ce5f1be6134")
        #expect(alpha.pseudonym(of: "hl1patienttwo") == "ps-b07942b67cacdc8a15a7dd62aa8de417")
        let beta = ResearchPseudonym(secret: Self.secret, researcher: "hl1researcherbeta")
        #expect(beta.researcherKey == bytes("520b7859529323efefc173d850ebdaa7e2bd5bbfa3e535e31183c5c07cb12ff9"))
        #expect(beta.pseudonym(of: "hl1patientone") == "ps-8882affcf32d5d26ad447a6ff2cd7c9c")
    }

    @Test("given one secret, a researcher always sees the same pseudonym and two researchers different ones")
    func stableAndDistinct() {
        let secret = SecureRandom.bytes(32)
        let first = ResearchPseudonym(secret: secret, researcher: "hl1a")
        let again = ResearchPseudonym(secret: secret, researcher: "hl1a")
        let other = ResearchPseudonym(secret: secret, researcher: "hl1b")
        #expect(first.pseudonym(of: "hl1patient") == again.pseudonym(of: "hl1patient"))
        #expect(first.pseudonym(of: "hl1patient") != other.pseudonym(of: "hl1patient"))
        #expect(first.pseudonym(of: "hl1patient") != first.pseudonym(of: "hl1other"))
        let pseudonym = first.pseudonym(of: "hl1patient")
        #expect(pseudonym.count == 35 && pseudonym.hasPrefix("ps-"))
        #expect(Hex.decode(pseudonym.dropFirst(3)) != nil)
    }

    @Test("another node secret gives other pseudonyms to the same researcher")
    func secretMatters() {
        let one = ResearchPseudonym(secret: SecureRandom.bytes(32), researcher: "hl1a")
        let two = ResearchPseudonym(secret: SecureRandom.bytes(32), researcher: "hl1a")
        #expect(one.pseudonym(of: "hl1patient") != two.pseudonym(of: "hl1patient"))
    }

    @Test("the context separator keeps researcher ids from running into the context label")
    func separator() {
        var message = Array(ResearchPseudonym.context.utf8)
        message.append(0)
        message.append(contentsOf: "hl1a".utf8)
        #expect(
            ResearchPseudonym(secret: Self.secret, researcher: "hl1a").researcherKey
                == HMACSHA256.authenticationCode(for: message, key: Self.secret))
    }
}
