import LedgerCrypto
import RPCCore

/// Checks of single input fields shared by transactions and read requests; every failure is INVALID_ARGUMENT
/// with a message that starts with the field's path, e.g. "transaction.body.grant.grantee: bad checksum".
public enum InputValidation {
    /// The INVALID_ARGUMENT error for `field`.
    public static func invalid(_ field: String, _ reason: String) -> RPCError {
        RPCError(.invalidArgument, "\(field): \(reason)")
    }

    /// A principal id in its exact 41-character form.
    public static func principal(_ text: String, field: @autoclosure () -> String) throws(RPCError) -> PrincipalID {
        if text.isEmpty { throw invalid(field(), "required") }
        do {
            return try PrincipalID(parsing: text)
        } catch {
            throw invalid(field(), error.description)
        }
    }

    /// A transaction, grant or record id: 64 lowercase hex characters.
    public static func objectID(_ text: String, field: @autoclosure () -> String) throws(RPCError) -> String {
        if text.isEmpty { throw invalid(field(), "required") }
        guard text.utf8.count == 64, text.utf8.allSatisfy(isLowercaseHexDigit) else {
            throw invalid(field(), "must be 64 lowercase hex characters")
        }
        return text
    }

    /// A chain id: 1 to 64 bytes of [a-z0-9-].
    public static func chainID(_ text: String, field: @autoclosure () -> String) throws(RPCError) -> String {
        if text.isEmpty { throw invalid(field(), "required") }
        guard text.utf8.count <= 64 else { throw invalid(field(), "at most 64 bytes") }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): continue
            default: throw invalid(field(), "only a-z, 0-9 and '-' are allowed")
            }
        }
        return text
    }

    /// Free text of at most `maxBytes` UTF-8 bytes (strings are valid UTF-8 once decoded).
    public static func text(
        _ text: String, field: @autoclosure () -> String, maxBytes: Int, required: Bool = false
    ) throws(RPCError) {
        if required && text.isEmpty { throw invalid(field(), "required") }
        if text.utf8.count > maxBytes { throw invalid(field(), "at most \(maxBytes) bytes, got \(text.utf8.count)") }
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
