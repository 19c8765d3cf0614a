/// Bytes of fields this schema doesn't know, kept verbatim (tag + value) in arrival order and
/// re-emitted after the known fields, so a message passes through an older reader unchanged.
public struct UnknownFields: Hashable, Sendable {
    /// The raw encoded fields, exactly as they arrived.
    public var bytes: [UInt8]

    /// Creates an empty set of unknown fields.
    @inlinable
    public init() {
        bytes = []
    }

    /// Creates unknown fields from already encoded field bytes.
    @inlinable
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// True when no unknown field was seen.
    @inlinable
    public var isEmpty: Bool { bytes.isEmpty }
}
