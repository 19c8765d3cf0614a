/// Something a grantee may do with a patient's data; raw values are the proto `Action` numbers.
public enum Action: UInt8, Sendable, Hashable, CaseIterable {
    /// Read records' metadata and content (the Query RPC).
    case read = 1
    /// Write new records, or amendments (the Write RPC).
    case write = 2
    /// Read the patient's audit trail (the AuditStream RPC).
    case auditRead = 3
    /// Grant and revoke on the patient's behalf, within the delegating grant.
    case delegate = 4

    /// The proto enum value name, as used in decision reasons ("ACTION_READ").
    public var protoName: String {
        switch self {
        case .read: "ACTION_READ"
        case .write: "ACTION_WRITE"
        case .auditRead: "ACTION_AUDIT_READ"
        case .delegate: "ACTION_DELEGATE"
        }
    }
}

/// A set of actions, one bit per `Action`.
public struct ActionSet: OptionSet, Sendable, Hashable {
    /// Bit `1 << action.rawValue` for each action in the set.
    public var rawValue: UInt8

    /// A set from its bits.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The set of the given actions.
    @inlinable public init(_ actions: some Sequence<Action>) {
        self.rawValue = 0
        for action in actions { rawValue |= Self.bit(action) }
    }

    /// Every action.
    public static let all = ActionSet(Action.allCases)

    /// Whether `action` is in the set.
    @inlinable public func contains(_ action: Action) -> Bool { rawValue & Self.bit(action) != 0 }

    /// Adds `action` to the set.
    @inlinable public mutating func insert(_ action: Action) { rawValue |= Self.bit(action) }

    /// The actions in the set, in ascending proto order.
    public var actions: [Action] { Action.allCases.filter { contains($0) } }

    @usableFromInline static func bit(_ action: Action) -> UInt8 { 1 &<< action.rawValue }
}
