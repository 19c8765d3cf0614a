/// A protobuf message type. Generated structs conform.
public protocol ProtoMessage: Sendable, Hashable {
    /// Creates a message with every field at its default.
    init()
    /// The fully-qualified proto name, e.g. "healthledger.v1.Grant".
    static var protoMessageName: String { get }
    /// Fields that arrived but aren't in this schema, re-emitted on encode.
    var unknownFields: UnknownFields { get set }
    /// Writes the fields (no outer tag/length) in field-number order, then `unknownFields.bytes`.
    func encodeFields(to writer: inout ProtoWriter)
    /// Reads fields until the end of the reader's current limit, merging into self (protobuf merge semantics).
    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError)
}

extension ProtoMessage {
    /// Encodes the message in the protobuf binary format.
    @inlinable
    public func serializedBytes() -> [UInt8] {
        var writer = ProtoWriter()
        encodeFields(to: &writer)
        return writer.takeBytes()
    }

    /// Decodes a message from protobuf binary bytes.
    @inlinable
    public init(serializedBytes: [UInt8], options: DecodingOptions = DecodingOptions()) throws(ProtoDecodingError) {
        self.init()
        try merge(serializedBytes: serializedBytes, options: options)
    }

    /// Decodes a message from protobuf binary bytes in memory the caller owns (no copy).
    @inlinable
    public init(
        serializedBytes: UnsafeRawBufferPointer, options: DecodingOptions = DecodingOptions()
    ) throws(ProtoDecodingError) {
        self.init()
        try merge(serializedBytes: serializedBytes, options: options)
    }

    /// Merges fields from protobuf binary bytes into self: scalars overwrite, repeated fields append,
    /// messages merge recursively.
    @inlinable
    public mutating func merge(
        serializedBytes: [UInt8], options: DecodingOptions = DecodingOptions()
    ) throws(ProtoDecodingError) {
        // Array.withUnsafeBytes is `rethrows` (untyped), so the typed error travels out as a value.
        let failure = serializedBytes.withUnsafeBytes { (buffer) -> ProtoDecodingError? in
            do throws(ProtoDecodingError) {
                try merge(serializedBytes: buffer, options: options)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Merges fields from protobuf binary bytes in memory the caller owns.
    @inlinable
    public mutating func merge(
        serializedBytes: UnsafeRawBufferPointer, options: DecodingOptions = DecodingOptions()
    ) throws(ProtoDecodingError) {
        var reader = ProtoReader(buffer: serializedBytes, options: options)
        try decodeFields(from: &reader)
    }
}
