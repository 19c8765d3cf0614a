/// A proto3 enum; numbers the schema doesn't name are kept (open enums), so they survive a round trip.
public protocol ProtoEnum: Sendable, Hashable, RawRepresentable where RawValue == Int32 {
    /// Creates the case for `rawValue`; never fails: unknown numbers become `.UNRECOGNIZED(n)`.
    init(rawValue: Int32)
    /// The number sent on the wire.
    var rawValue: Int32 { get }
}
