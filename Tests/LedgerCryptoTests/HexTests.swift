import LedgerCrypto
import Testing

/// Lowercase hex, the text form of key ids, transaction ids and record ids.
@Suite("Hex")
struct HexTests {
    @Test("every byte value encodes as two lowercase digits and decodes back")
    func roundTrip() {
        let all = (0...255).map { UInt8($0) }
        let text = Hex.encode(all)
        #expect(text.count == 512)
        #expect(text.hasPrefix("000102") && text.hasSuffix("fdfeff"))
        #expect(Hex.decode(text) == all)
        #expect(Hex.encode([]) == "" && Hex.decode("") == [])
    }

    @Test(
        "odd lengths, uppercase and non-hex characters are refused", arguments: ["a", "abc", "AB", "0g", "+1", " 00"])
    func invalid(text: String) {
        #expect(Hex.decode(text) == nil)
    }
}
