// The rules come from https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md ("Requests"):
//   Header-Name  -> 1*( %x30-39 / %x61-7A / "_" / "-" / ".")   ; 0-9 a-z _ - .
//   ASCII-Value  -> 1*( %x20-%x7E )                             ; space and printable ASCII
//   Binary-Header -> {Header-Name "-bin" } {base64 encoded value}
extension Metadata {
    /// The suffix that marks a key whose values are bytes.
    public static let binaryKeySuffix = "-bin"

    /// Whether `key` is a legal gRPC header name: non-empty, only 0-9, a-z, "_", "-" and ".".
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy(isHeaderNameByte)
    }

    /// Whether `key` names binary values (ends in "-bin").
    public static func isBinaryKey(_ key: String) -> Bool {
        key.hasSuffix(binaryKeySuffix)
    }

    /// Whether `value` may be sent as a text header value: only space and printable ASCII (0x20-0x7E).
    public static func isValidStringValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// Throws INTERNAL naming the first entry that could not be sent as gRPC metadata (a bug in the caller,
    /// as in grpc-go, which fails such a call with codes.Internal).
    public func validate() throws(RPCError) {
        for (key, value) in self {
            guard Self.isValidKey(key) else {
                throw RPCError(
                    .internalError, "metadata key \"\(key)\" is not a valid gRPC header name (0-9 a-z _ - . only)")
            }
            switch value {
            case .string(let text):
                guard !Self.isBinaryKey(key) else {
                    throw RPCError(.internalError, "metadata key \"\(key)\" ends in \"-bin\" but has a text value")
                }
                guard Self.isValidStringValue(text) else {
                    throw RPCError(.internalError, "metadata value for \"\(key)\" is not printable ASCII")
                }
            case .binary:
                guard Self.isBinaryKey(key) else {
                    throw RPCError(
                        .internalError, "metadata key \"\(key)\" has a binary value but does not end in \"-bin\"")
                }
            }
        }
    }

    private static func isHeaderNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
