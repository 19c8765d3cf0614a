import LedgerCrypto
import Testing

/// Principal ids: who someone is on the ledger, derived from their first key (identity.proto).
@Suite("Principal ids")
struct PrincipalIDTests {
    static let rfc8032Key = bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    static let rfc8032ID = "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8"

    @Test("the RFC 8032 test 1 key as a first key gives identity.proto's principal id")
    func workedExample() throws {
        let key = try SigningPublicKey(algorithm: .ed25519, rawBytes: Self.rfc8032Key)
        let id = PrincipalID(firstKey: key)
        #expect(id.text == Self.rfc8032ID)
        #expect(id.description == Self.rfc8032ID)
        #expect(id.hashPrefix == Array(SHA256.hash(Self.rfc8032Key).prefix(20)))
        #expect(id.hashPrefix == Array(bytes(key.keyID).prefix(20)))
    }

    @Test("the id's text parses back to the same id", arguments: SignatureAlgorithm.allCases)
    func parseRoundTrip(algorithm: SignatureAlgorithm) throws {
        let id = PrincipalID(firstKey: SigningPrivateKey.generate(algorithm).publicKey)
        #expect(id.text.count == 41 && id.text.hasPrefix("hl1"))
        let parsed = try PrincipalID(parsing: id.text)
        #expect(parsed == id)
        #expect(parsed.hashPrefix == id.hashPrefix)
    }

    @Test(
        "text that is not exactly a principal id is refused with the first reason that applies",
        arguments: [
            ("", "must be 41 characters, got 0"),
            ("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf", "must be 41 characters, got 40"),
            ("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8q", "must be 41 characters, got 42"),
            ("HL1Y8LRRHAP2J3XZCNTLP2QGM7JYUDHHM2TQTGTF8", "must be lowercase"),
            ("hl1y8lrrhap2j3xzcntlP2qgm7jyudhhm2tqtgtf8", "must be lowercase"),
            ("hx1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8", "must start with \"hl1\""),
            ("hly8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8q", "must start with \"hl1\""),
            ("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtfb", "invalid character 'b' at position 40"),
            ("hl1i8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8", "invalid character 'i' at position 3"),
            ("hl1y8lrrhap2j3xzcntl 2qgm7jyudhhm2tqtgtf8", "invalid character ' ' at position 20"),
            ("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf1", "invalid character '1' at position 40"),
            ("hl1y8lrrhap2j3xzcntlé2qgm7jyudhhm2tqtgtf8", "invalid character 'é' at position 20"),
            ("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf9", "bad checksum"),
            ("hl18ylrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8", "bad checksum"),  // two characters swapped
        ])
    func refused(text: String, reason: String) {
        #expect(thrownDescription { _ = try PrincipalID(parsing: text) } == reason)
    }

    @Test("ids sort by their text")
    func ordering() throws {
        let ids = (0..<5).map { _ in PrincipalID(firstKey: SigningPrivateKey.generate(.ed25519).publicKey) }
        #expect(ids.sorted().map(\.text) == ids.map(\.text).sorted())
        #expect(try PrincipalID(parsing: Self.rfc8032ID) == PrincipalID(parsing: Self.rfc8032ID))
    }
}
