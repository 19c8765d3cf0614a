/// grpc-message percent-encoding (spec: percent-encode bytes outside 0x20-0x7E and '%'; decoding never fails).
///
/// PROTOCOL-HTTP2.md, "Status-Message": the message is UTF-8, then percent-encoded with uppercase hex
/// (Percent-Byte-Encoded -> "%" 2HEXDIGIT; 0-9 A-F). "When decoding invalid values, implementations MUST NOT
/// error or throw away the message"; we leave broken %-sequences as they are and replace invalid UTF-8 with
/// U+FFFD.
public enum GRPCStatusMessage {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// The grpc-message header value for `message`.
    public static func encode(_ message: String) -> String {
        guard message.utf8.contains(where: needsEncoding) else { return message }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(message.utf8.count * 3)
        for byte in message.utf8 {
            if needsEncoding(byte) {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            } else {
                encoded.append(byte)
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// The message a grpc-message header value carries; never fails.
    public static func decode(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return value }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func needsEncoding(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%")
    }

    // Lowercase hex is accepted too: we encode uppercase, but decoding is lenient.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
