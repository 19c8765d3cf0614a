import ProtobufWire
import Testing

/// Strings must be well-formed UTF-8 (RFC 3629): the reader rejects overlong forms, surrogates and
/// code points above U+10FFFF, and accepts everything else.
@Suite("UTF-8 validation of string fields")
struct UTF8ValidationTests {
    /// Whether a string field holding `payload` decodes.
    func accepts(_ payload: [UInt8]) -> Bool {
        let field = hex("0a") + referenceVarint(UInt64(payload.count)) + payload
        return (try? decodeFirstField(field) { (r, t) throws(ProtoDecodingError) in try r.readString(t, field: "t.s") })
            != nil
    }

    @Test(
        "well-formed sequences at every length and boundary are accepted",
        arguments: [
            "24", "c2 80", "df bf", "e2 82 ac", "e0 a0 80", "ed 9f bf", "ee 80 80", "ef bf bf", "f0 90 80 80",
            "f0 9d 84 9e", "f4 8f bf bf", "61 62 63 64 65 66 67 68 e2 82 ac 69",
        ])
    func wellFormed(bytes: String) {
        #expect(accepts(hex(bytes)))
    }

    @Test(
        "overlong forms, surrogates, values above U+10FFFF, stray continuations and cut sequences are rejected",
        arguments: [
            "80", "bf", "c0 80", "c1 bf", "e0 80 80", "e0 9f bf", "ed a0 80", "ed bf bf", "f0 80 80 80", "f0 8f bf bf",
            "f4 90 80 80", "f5 80 80 80", "ff", "c2", "e2 82", "f0 9d 84", "c2 41", "e2 28 a1",
            "61 62 63 64 65 66 67 68 69 ff",
        ])
    func malformed(bytes: String) {
        #expect(!accepts(hex(bytes)))
    }

    @Test("on random byte strings the reader agrees with the standard library's validator")
    func agreesWithStandardLibrary() {
        var generator = SplitMix64(seed: 0x5554_4638)
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
            0xFF,
        ]
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 12)
            let bytes = (0..<length).map { _ in interesting[Int(generator.next() % UInt64(interesting.count))] }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(accepts(bytes) == expected, "\(bytes.hexString)")
        }
    }
}
