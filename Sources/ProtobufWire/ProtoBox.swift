/// Holds a message inside a reference so a message type can contain itself (recursive schemas).
///
/// Immutable, so value semantics hold: a generated setter replaces the box rather than mutating it.
public final class ProtoBox<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The boxed message.
    public let value: Value

    /// Boxes `value`.
    @inlinable
    public init(_ value: Value) {
        self.value = value
    }

    /// Boxes compare by the value they hold, never by identity.
    @inlinable
    public static func == (lhs: ProtoBox, rhs: ProtoBox) -> Bool {
        lhs === rhs || lhs.value == rhs.value
    }

    /// Hashes the boxed value, consistent with `==`.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(value)
    }
}
