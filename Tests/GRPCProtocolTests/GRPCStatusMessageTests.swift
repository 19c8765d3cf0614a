import GRPCProtocol
import Testing

/// Status-Message -> "grpc-message" Percent-Encoded (PROTOCOL-HTTP2.md, "Responses").
@Suite("grpc-message percent-encoding")
struct GRPCStatusMessageTests {
    /// The interop suite's special_status_message case (doc/interop-test-descriptions.md).
    static let specialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

    @Test("the interop special_status_message encodes byte by byte as uppercase %XX of its UTF-8")
    func specialStatusMessage() {
        let encoded = GRPCStatusMessage.encode(Self.specialStatusMessage)
        #expect(
            encoded == "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A")
        #expect(GRPCStatusMessage.decode(encoded) == Self.specialStatusMessage)
    }

    @Test(
        "only bytes outside 0x20-0x7E and '%' itself are encoded",
        arguments: [
            ("", ""), ("plain ASCII, with (punctuation) & ~tilde", "plain ASCII, with (punctuation) & ~tilde"),
            ("100%", "100%25"), ("my favorite character is \u{0}", "my favorite character is %00"),
            ("\u{7F}DEL", "%7FDEL"), ("é", "%C3%A9"), ("a%2Fb", "a%252Fb"),
        ])
    func encodes(message: String, expected: String) {
        #expect(GRPCStatusMessage.encode(message) == expected)
        #expect(GRPCStatusMessage.decode(expected) == message)
    }

    @Test("every printable ASCII character except '%' passes through unchanged")
    func printableASCII() {
        let printable = String(decoding: (0x20...0x7E).filter { $0 != 0x25 }.map { UInt8($0) }, as: UTF8.self)
        #expect(GRPCStatusMessage.encode(printable) == printable)
    }

    @Test(
        "decoding is lenient: broken %-sequences stay as they are, invalid UTF-8 becomes U+FFFD",
        arguments: [
            ("%", "%"), ("%4", "%4"), ("abc%", "abc%"), ("%G0 and %0G", "%G0 and %0G"), ("%%41", "%A"),
            ("%e2%98%ba", "☺"), ("%E2%98", "\u{FFFD}"), ("%FF ok", "\u{FFFD} ok"), ("%C3%A9%", "é%"),
            ("unencoded é", "unencoded é"),
        ])
    func lenientDecoding(value: String, expected: String) {
        #expect(GRPCStatusMessage.decode(value) == expected)
    }
}
