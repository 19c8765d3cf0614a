import RPCCore

/// The base64 of gRPC-Web's text format (PROTOCOL-WEB.md, "text-encoded (response) streams"): a body is one or
/// more padded base64 chunks back to back, each encoding whole bytes, so a sender may encode every flush on its
/// own. Standard alphabet (RFC 4648 §4), padding required at the end of each chunk.
public enum GRPCWebText {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Characters `count` bytes encode to (padded).
    public static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Bytes whose padded encoding fits in `capacity` characters (a multiple of 3, so no padding is needed
    /// unless they are the last).
    public static func decodedCapacity(_ capacity: Int) -> Int { capacity / 4 * 3 }

    /// Encodes `bytes` as one padded chunk into `output`, which holds at least `encodedCount(bytes.count)`
    /// bytes; returns the characters written.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= encodedCount(bytes.count), "base64 output buffer too small")
        var written = 0
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output[written] = alphabet[Int(value >> 18 & 63)]
            output[written + 1] = alphabet[Int(value >> 12 & 63)]
            output[written + 2] = alphabet[Int(value >> 6 & 63)]
            output[written + 3] = alphabet[Int(value & 63)]
            written += 4
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output[written] = alphabet[Int(value >> 18 & 63)]
            output[written + 1] = alphabet[Int(value >> 12 & 63)]
            output[written + 2] = rest == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "=")
            output[written + 3] = UInt8(ascii: "=")
            written += 4
        }
        return written
    }

    /// Encodes `bytes` as one padded chunk.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedCount(bytes.count)) { output, count in
            count = bytes.withUnsafeBytes { encode($0, into: UnsafeMutableRawBufferPointer(output)) }
        }
    }
}

/// Decodes a gRPC-Web text body as it arrives, in pieces cut anywhere (even inside a base64 quantum), into the
/// bytes the message deframer reads. Each 4-character quantum is decoded on its own, so padded chunks may follow
/// one another.
public struct GRPCWebTextDecoder: Sendable {
    /// Characters of an incomplete quantum carried to the next piece.
    private var pending: (UInt8, UInt8, UInt8) = (0, 0, 0)
    private var pendingCount = 0

    /// A decoder at the start of a body.
    public init() {}

    /// Whether the input so far stops inside a quantum (a body must not end there).
    public var hasPartialQuantum: Bool { pendingCount > 0 }

    /// Appends the bytes `text` decodes to onto `output`; throws INTERNAL naming the offence when `text` is not
    /// base64 (a character outside the alphabet, or padding anywhere but the end of a quantum).
    public mutating func decode(_ text: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(RPCError) {
        try decodeCharacters(text, into: &output)
    }

    private mutating func decodeCharacters<Characters: Collection<UInt8>>(
        _ text: Characters, into output: inout [UInt8]
    ) throws(RPCError) {
        output.reserveCapacity(output.count + (pendingCount + text.count) / 4 * 3)
        for character in text {
            switch pendingCount {
            case 0: pending.0 = character
            case 1: pending.1 = character
            case 2: pending.2 = character
            default:
                try Self.decodeQuantum(pending.0, pending.1, pending.2, character, into: &output)
                pendingCount = 0
                continue
            }
            pendingCount += 1
        }
    }

    /// Decodes a whole body (tests, and callers with everything at hand).
    public static func decode(_ text: [UInt8]) throws(RPCError) -> [UInt8] {
        var decoder = GRPCWebTextDecoder()
        var output: [UInt8] = []
        try decoder.decodeCharacters(text, into: &output)
        guard !decoder.hasPartialQuantum else {
            throw RPCError(.internalError, "gRPC-Web text body ends inside a base64 quantum")
        }
        return output
    }

    private static func decodeQuantum(
        _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, into output: inout [UInt8]
    ) throws(RPCError) {
        let equals = UInt8(ascii: "=")
        let first = try value(of: a)
        let second = try value(of: b)
        if c == equals {
            guard d == equals else { throw notBase64("'=' followed by '\(Character(Unicode.Scalar(d)))'") }
            output.append(UInt8(truncatingIfNeeded: first << 2 | second >> 4))
            return
        }
        let third = try value(of: c)
        if d == equals {
            output.append(UInt8(truncatingIfNeeded: first << 2 | second >> 4))
            output.append(UInt8(truncatingIfNeeded: second << 4 | third >> 2))
            return
        }
        let fourth = try value(of: d)
        output.append(UInt8(truncatingIfNeeded: first << 2 | second >> 4))
        output.append(UInt8(truncatingIfNeeded: second << 4 | third >> 2))
        output.append(UInt8(truncatingIfNeeded: third << 6 | fourth))
    }

    private static func value(of character: UInt8) throws(RPCError) -> UInt32 {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        case UInt8(ascii: "="): throw notBase64("'=' before the end of a quantum")
        default: throw notBase64("byte 0x\(String(character, radix: 16)) is not in the base64 alphabet")
        }
    }

    private static func notBase64(_ detail: String) -> RPCError {
        RPCError(.internalError, "gRPC-Web text body is not base64: \(detail)")
    }
}
