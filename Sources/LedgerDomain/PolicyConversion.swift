import AccessPolicy
import HealthLedgerProtos
import RPCCore

/// Conversions between the wire enums of healthledger.v1 and the policy engine's types, rejecting
/// UNSPECIFIED, unknown numbers and duplicates with INVALID_ARGUMENT naming the field.
public enum PolicyConversion {
    /// The policy action for a wire action.
    public static func action(_ value: Healthledger_V1_Action, field: String) throws(RPCError) -> Action {
        guard value != .unspecified, let action = Action(rawValue: UInt8(clamping: value.rawValue)) else {
            throw InputValidation.invalid(field, "\(describe(value.rawValue)) is not an action")
        }
        return action
    }

    /// The wire action for a policy action.
    public static func wire(_ action: Action) -> Healthledger_V1_Action {
        Healthledger_V1_Action(rawValue: Int32(action.rawValue))
    }

    /// The set of distinct actions in `values` (1 to 4).
    public static func actions(_ values: [Healthledger_V1_Action], field: String) throws(RPCError) -> ActionSet {
        if values.isEmpty { throw InputValidation.invalid(field, "at least one action is required") }
        var set = ActionSet()
        for (index, value) in values.enumerated() {
            let action = try self.action(value, field: "\(field)[\(index)]")
            if set.contains(action) { throw InputValidation.invalid(field, "\(action.protoName) is listed twice") }
            set.formUnion(ActionSet([action]))
        }
        return set
    }

    /// A concrete record category (never ALL).
    public static func recordCategory(_ value: Healthledger_V1_DataCategory, field: String) throws(RPCError)
        -> DataCategory
    {
        if value == .all { throw InputValidation.invalid(field, "DATA_CATEGORY_ALL is not a record's category") }
        guard value != .unspecified, let category = DataCategory(rawValue: UInt8(clamping: value.rawValue)) else {
            throw InputValidation.invalid(field, "\(describe(value.rawValue)) is not a data category")
        }
        return category
    }

    /// The wire category for a policy category.
    public static func wire(_ category: DataCategory) -> Healthledger_V1_DataCategory {
        Healthledger_V1_DataCategory(rawValue: Int32(category.rawValue))
    }

    /// The categories a list of distinct wire categories stands for (ALL: every non-sensitive one), with whether
    /// ALL was named; 1 to `maxCount` values.
    public static func categories(
        _ values: [Healthledger_V1_DataCategory], field: String, maxCount: Int = 15
    ) throws(RPCError) -> (set: CategorySet, namesAll: Bool) {
        if values.isEmpty { throw InputValidation.invalid(field, "at least one category is required") }
        if values.count > maxCount { throw InputValidation.invalid(field, "at most \(maxCount) categories") }
        var listings: [CategoryListing] = []
        var seen = Set<Int32>()
        for (index, value) in values.enumerated() {
            if !seen.insert(value.rawValue).inserted {
                throw InputValidation.invalid(field, "\(describe(value.rawValue)) is listed twice")
            }
            if value == .all {
                listings.append(.all)
            } else {
                listings.append(.category(try recordCategory(value, field: "\(field)[\(index)]")))
            }
        }
        return (CategorySet(listing: listings), values.contains(.all))
    }

    /// A purpose of use.
    public static func purpose(_ value: Healthledger_V1_Purpose, field: String) throws(RPCError) -> Purpose {
        guard value != .unspecified, let purpose = Purpose(rawValue: UInt8(clamping: value.rawValue)) else {
            throw InputValidation.invalid(field, "\(describe(value.rawValue)) is not a purpose of use")
        }
        return purpose
    }

    /// The wire purpose for a policy purpose.
    public static func wire(_ purpose: Purpose) -> Healthledger_V1_Purpose {
        Healthledger_V1_Purpose(rawValue: Int32(purpose.rawValue))
    }

    /// The set of distinct purposes in `values` (1 to 6).
    public static func purposes(_ values: [Healthledger_V1_Purpose], field: String) throws(RPCError) -> PurposeSet {
        if values.isEmpty { throw InputValidation.invalid(field, "at least one purpose is required") }
        var set = PurposeSet()
        for (index, value) in values.enumerated() {
            let purpose = try self.purpose(value, field: "\(field)[\(index)]")
            if set.contains(purpose) { throw InputValidation.invalid(field, "\(purpose.protoName) is listed twice") }
            set.formUnion(PurposeSet([purpose]))
        }
        return set
    }

    /// PERMIT or DENY.
    public static func effect(_ value: Healthledger_V1_Effect, field: String) throws(RPCError) -> Effect {
        switch value {
        case .permit: return .permit
        case .deny: return .deny
        default: throw InputValidation.invalid(field, "must be EFFECT_PERMIT or EFFECT_DENY")
        }
    }

    /// A record date range, checked for order.
    public static func dateRange(_ value: Healthledger_V1_RecordDateRange?, field: String) throws(RPCError) -> TimeRange? {
        guard let value else { return nil }
        if !value.unknownFields.isEmpty { throw InputValidation.invalid(field, "unknown fields") }
        if let from = value.fromUnixMs, let until = value.untilUnixMs, until <= from {
            throw InputValidation.invalid(field, "until_unix_ms must be greater than from_unix_ms")
        }
        return TimeRange(from: value.fromUnixMs, until: value.untilUnixMs)
    }

    /// The wire decision basis.
    public static func wire(_ basis: DecisionBasis) -> Healthledger_V1_DecisionBasis {
        switch basis {
        case .patientSelf: .patientSelf
        case .permitGrant: .permitGrant
        case .emergencyAccess: .emergencyAccess
        case .denyGrant: .denyGrant
        case .noPermit: .noPermit
        }
    }

    private static func describe(_ number: Int32) -> String {
        number == 0 ? "UNSPECIFIED" : "value \(number)"
    }
}
