/// Why data is being accessed (purpose of use); raw values are the proto `Purpose` numbers.
public enum Purpose: UInt8, Sendable, Hashable, CaseIterable {
    /// Care of the patient.
    case treatment = 1
    /// Emergency care; with no permit, only reachable through emergency access.
    case emergency = 2
    /// Research.
    case research = 3
    /// Billing and insurance.
    case payment = 4
    /// Healthcare operations (quality, administration).
    case operations = 5
    /// At the patient's own request.
    case patientRequest = 6

    /// The proto enum value name, as used in decision reasons ("PURPOSE_RESEARCH").
    public var protoName: String {
        switch self {
        case .treatment: "PURPOSE_TREATMENT"
        case .emergency: "PURPOSE_EMERGENCY"
        case .research: "PURPOSE_RESEARCH"
        case .payment: "PURPOSE_PAYMENT"
        case .operations: "PURPOSE_OPERATIONS"
        case .patientRequest: "PURPOSE_PATIENT_REQUEST"
        }
    }
}

/// A set of purposes of use, one bit per `Purpose`.
public struct PurposeSet: OptionSet, Sendable, Hashable {
    /// Bit `1 << purpose.rawValue` for each purpose in the set.
    public var rawValue: UInt8

    /// A set from its bits.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The set of the given purposes.
    @inlinable public init(_ purposes: some Sequence<Purpose>) {
        self.rawValue = 0
        for purpose in purposes { rawValue |= Self.bit(purpose) }
    }

    /// Every purpose.
    public static let all = PurposeSet(Purpose.allCases)

    /// Whether `purpose` is in the set.
    @inlinable public func contains(_ purpose: Purpose) -> Bool { rawValue & Self.bit(purpose) != 0 }

    /// Adds `purpose` to the set.
    @inlinable public mutating func insert(_ purpose: Purpose) { rawValue |= Self.bit(purpose) }

    /// The purposes in the set, in ascending proto order.
    public var purposes: [Purpose] { Purpose.allCases.filter { contains($0) } }

    @usableFromInline static func bit(_ purpose: Purpose) -> UInt8 { 1 &<< purpose.rawValue }
}
