/// A decoded field key: the field number and the wire type its value arrived with.
public struct FieldTag: Hashable, Sendable {
    /// The field number from the schema, 1 ... 536_870_911.
    public let fieldNumber: Int
    /// How the value that follows is encoded.
    public let wireType: WireType

    /// Creates a key; the reader only produces ones with a valid field number.
    @inlinable
    public init(fieldNumber: Int, wireType: WireType) {
        self.fieldNumber = fieldNumber
        self.wireType = wireType
    }

    /// The largest field number protobuf allows (2^29 - 1).
    public static let maxFieldNumber = 536_870_911
}
