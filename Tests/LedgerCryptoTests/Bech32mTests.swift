import Testing

@testable import LedgerCrypto

/// The Bech32m encoder and decoder under principal ids, against BIP-350's test vectors.
@Suite("Bech32m")
struct Bech32mTests {
    @Test(
        "BIP-350's valid strings decode, and re-encode to the same text in lowercase",
        arguments: [
            "A1LQFN3A",
            "a1lqfn3a",
            "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
            "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
            "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
            "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
            "?1v759aa",
        ])
    func valid(text: String) throws {
        let (hrp, data) = try Bech32m.decode(text)
        #expect(Bech32m.encode(hrp: hrp, data: data) == text.lowercased())
    }

    @Test(
        "BIP-350's invalid strings are refused for the reason the BIP gives",
        arguments: [
            ("\u{20}1xj0phk", Bech32m.DecodingError.characterOutOfRange),
            ("\u{7f}1g6xzxy", .characterOutOfRange),
            ("\u{80}1vctc34", .characterOutOfRange),
            (
                "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
                .tooLong
            ),
            ("qyrz8wqd2c9m", .missingSeparator),
            ("1qyrz8wqd2c9m", .emptyHumanReadablePart),
            ("y1b0jsk6g", .invalidDataCharacter),
            ("lt1igcx5c0", .invalidDataCharacter),
            ("in1muywd", .checksumTooShort),
            ("mm1crxm3i", .invalidDataCharacter),  // in the checksum
            ("au1s5cgom", .invalidDataCharacter),  // in the checksum
            ("M1VUXWEZ", .badChecksum),  // checksum calculated with the uppercase form of the HRP
            ("16plkw9", .emptyHumanReadablePart),
            ("1p2gdwpf", .emptyHumanReadablePart),
        ])
    func invalid(text: String, reason: Bech32m.DecodingError) {
        #expect(throws: reason) { try Bech32m.decode(text) }
    }

    @Test("mixed case is refused, and a Bech32 (BIP-173) checksum is not a Bech32m one")
    func mixedCaseAndOldChecksum() {
        #expect(throws: Bech32m.DecodingError.mixedCase) { try Bech32m.decode("a1lqfN3A") }
        #expect(throws: Bech32m.DecodingError.badChecksum) { try Bech32m.decode("a12uel5l") }
    }

    @Test("bytes regroup into 5-bit values and back; non-zero padding is refused")
    func regrouping() {
        let bytes: [UInt8] = [0xff, 0x00, 0x80]
        let fives = Bech32m.regroup(bytes, fromBits: 8, toBits: 5, pad: true)!
        #expect(fives == [31, 28, 0, 8, 0])  // 11111 11100 00000 01000 0000(padding)
        #expect(Bech32m.regroup(fives, fromBits: 5, toBits: 8, pad: false) == bytes)
        #expect(Bech32m.regroup([31, 28, 0, 8, 1], fromBits: 5, toBits: 8, pad: false) == nil)
        #expect(Bech32m.regroup([32], fromBits: 5, toBits: 8, pad: false) == nil)
    }
}
