/// How a field's value is laid out on the wire: the low three bits of every field key.
///
/// See https://protobuf.dev/programming-guides/encoding/#structure . Wire types 6 and 7 are
/// undefined and rejected by the reader.
public enum WireType: UInt8, Sendable {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields.
    case lengthDelimited = 2
    /// Start of a (deprecated) group; only ever skipped and kept as an unknown field here.
    case startGroup = 3
    /// End of a (deprecated) group.
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5
}
