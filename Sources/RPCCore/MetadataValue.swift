extension Metadata {
    /// A metadata value: text for ordinary keys, bytes for keys ending in "-bin" (sent base64-encoded).
    public enum Value: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        /// Printable ASCII text.
        case string(String)
        /// Arbitrary bytes; only under a key ending in "-bin".
        case binary([UInt8])

        /// A text value from a literal.
        public init(stringLiteral value: String) { self = .string(value) }

        /// The text, when this is a text value.
        public var stringValue: String? {
            if case .string(let text) = self { text } else { nil }
        }

        /// The bytes, when this is a binary value.
        public var binaryValue: [UInt8]? {
            if case .binary(let bytes) = self { bytes } else { nil }
        }

        /// The text as it is, or the bytes in hex.
        public var description: String {
            switch self {
            case .string(let text):
                return text
            case .binary(let bytes):
                let hexDigits = Array("0123456789abcdef")
                return String(bytes.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0x0F)]] })
            }
        }
    }
}
