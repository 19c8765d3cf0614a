import ProtobufWire
import Testing

/// Base64 as generated files use it to embed descriptors (RFC 4648 section 4).
@Suite("Base64")
struct Base64Tests {
    @Test(
        "the RFC 4648 test vectors encode and decode",
        arguments: [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ])
    func rfcVectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("padding may be left off")
    func missingPadding() {
        #expect(Base64.decode("Zg") == Array("f".utf8))
        #expect(Base64.decode("Zm8") == Array("fo".utf8))
        #expect(Base64.decode("Zm9vYg") == Array("foob".utf8))
    }

    @Test("every byte value and every length round-trips, using + and /")
    func roundTrip() {
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }

    @Test("whitespace is ignored; symbols outside the alphabet and impossible lengths are rejected")
    func invalidText() {
        #expect(Base64.decode("Zm9v\nYmFy") == Array("foobar".utf8))
        #expect(Base64.decodeIfValid("Zm9v*") == nil)
        #expect(Base64.decodeIfValid("Z") == nil)
        #expect(Base64.decodeIfValid("Zg==Zg==") == nil)
        #expect(Base64.decodeIfValid("Zm-_") == nil)
        #expect(Base64.decode("Zm9v*") == [])
    }
}
