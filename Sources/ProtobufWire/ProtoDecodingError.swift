/// Why decoding failed: what went wrong, in which field when known, and at which byte.
public struct ProtoDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The category of a decoding failure.
    public enum Kind: Hashable, Sendable {
        /// The input ended inside a tag or value.
        case truncated
        /// A varint longer than 10 bytes, or whose 10th byte is greater than 1.
        case malformedVarint
        /// Wire type 6 or 7.
        case invalidWireType
        /// Field number 0 or greater than 2^29 - 1.
        case invalidFieldNumber
        /// A known field arrived with a wire type that field can't have.
        case wrongWireType
        /// A length prefix longer than the remaining bytes (checked before allocating).
        case lengthExceedsInput
        /// More than `DecodingOptions.maxDepth` nested messages, entries or groups.
        case nestingTooDeep
        /// A string field whose bytes are not valid UTF-8.
        case invalidUTF8
        /// END_GROUP without a matching START_GROUP, or closing another field number.
        case unmatchedEndGroup
    }

    /// What went wrong.
    public var kind: Kind
    /// Fully-qualified field name ("healthledger.v1.Grant.grantee"); nil for framing errors outside a known field.
    public var field: String?
    /// Byte offset, from the start of the top-level input, of the tag or value where the problem was found.
    public var offset: Int
    /// The problem in a few words, without field or offset ("length prefix 9 exceeds the 2 remaining bytes").
    public var problem: String

    /// Creates an error; `problem` defaults to a generic phrase for `kind`.
    public init(kind: Kind, field: String? = nil, offset: Int, problem: String? = nil) {
        self.kind = kind
        self.field = field
        self.offset = offset
        self.problem = problem ?? Self.defaultProblem(for: kind)
    }

    /// One readable line: `healthledger.v1.Grant.grantee: length prefix 4294967295 exceeds the 7 remaining bytes at byte 3`.
    public var description: String {
        if let field {
            return "\(field): \(problem) at byte \(offset)"
        }
        return "\(problem) at byte \(offset)"
    }

    static func defaultProblem(for kind: Kind) -> String {
        switch kind {
        case .truncated: "input ends inside a field"
        case .malformedVarint: "malformed varint"
        case .invalidWireType: "invalid wire type"
        case .invalidFieldNumber: "invalid field number"
        case .wrongWireType: "unexpected wire type"
        case .lengthExceedsInput: "length prefix exceeds the remaining input"
        case .nestingTooDeep: "messages nested too deeply"
        case .invalidUTF8: "string is not valid UTF-8"
        case .unmatchedEndGroup: "end-group tag without a matching start-group"
        }
    }
}
