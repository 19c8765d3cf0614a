/// A kind of health data; raw values are the proto `DataCategory` numbers (every record has exactly one).
public enum DataCategory: UInt8, Sendable, Hashable, CaseIterable {
    /// Name, date of birth, contact details, identifiers.
    case demographics = 1
    /// Diagnoses and problems.
    case conditions
    /// Prescriptions and medication statements.
    case medications
    /// Allergies and intolerances.
    case allergies
    /// Laboratory results.
    case labs
    /// Imaging studies and reports.
    case imaging
    /// Vital signs.
    case vitals
    /// Immunizations.
    case immunizations
    /// Procedures and surgeries.
    case procedures
    /// Free-text clinical notes and letters.
    case clinicalNotes
    /// Mental health (sensitive).
    case mentalHealth = 11
    /// Sexual and reproductive health (sensitive).
    case sexualHealth
    /// Substance use (sensitive).
    case substanceUse
    /// Genomic data (sensitive).
    case genomics = 14

    /// Whether the category is sensitive: never covered by "all" nor by emergency access, a grant must name it.
    @inlinable public var isSensitive: Bool { rawValue >= DataCategory.mentalHealth.rawValue }

    /// The proto enum value name, as used in decision reasons ("DATA_CATEGORY_LABS").
    public var protoName: String {
        switch self {
        case .demographics: "DATA_CATEGORY_DEMOGRAPHICS"
        case .conditions: "DATA_CATEGORY_CONDITIONS"
        case .medications: "DATA_CATEGORY_MEDICATIONS"
        case .allergies: "DATA_CATEGORY_ALLERGIES"
        case .labs: "DATA_CATEGORY_LABS"
        case .imaging: "DATA_CATEGORY_IMAGING"
        case .vitals: "DATA_CATEGORY_VITALS"
        case .immunizations: "DATA_CATEGORY_IMMUNIZATIONS"
        case .procedures: "DATA_CATEGORY_PROCEDURES"
        case .clinicalNotes: "DATA_CATEGORY_CLINICAL_NOTES"
        case .mentalHealth: "DATA_CATEGORY_MENTAL_HEALTH"
        case .sexualHealth: "DATA_CATEGORY_SEXUAL_HEALTH"
        case .substanceUse: "DATA_CATEGORY_SUBSTANCE_USE"
        case .genomics: "DATA_CATEGORY_GENOMICS"
        }
    }
}

/// One entry of a grant's, emergency access's or query's category list: a concrete category or DATA_CATEGORY_ALL.
public enum CategoryListing: Sendable, Hashable {
    /// A concrete category, named.
    case category(DataCategory)
    /// DATA_CATEGORY_ALL: every non-sensitive category, never the sensitive ones.
    case all
}

/// A set of data categories, one bit per `DataCategory`.
public struct CategorySet: OptionSet, Sendable, Hashable {
    /// Bit `1 << category.rawValue` for each category in the set.
    public var rawValue: UInt64

    /// A set from its bits.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The set of the given categories, exactly as named (sensitive ones included).
    @inlinable public init(_ categories: some Sequence<DataCategory>) {
        self.rawValue = 0
        for category in categories { rawValue |= Self.bit(category) }
    }

    /// The set a grant's or query's category list stands for: `.all` entries expand to `allNonSensitive` (never the
    /// sensitive categories), concrete ones are added as named.
    public init(listing: some Sequence<CategoryListing>) {
        self.rawValue = 0
        for entry in listing {
            switch entry {
            case .category(let category): rawValue |= Self.bit(category)
            case .all: formUnion(.allNonSensitive)
            }
        }
    }

    /// The ten non-sensitive categories: what DATA_CATEGORY_ALL stands for.
    public static let allNonSensitive = CategorySet(DataCategory.allCases.filter { !$0.isSensitive })
    /// The four sensitive categories, which must always be named.
    public static let sensitive = CategorySet(DataCategory.allCases.filter { $0.isSensitive })
    /// Every category, sensitive ones included.
    public static let every = CategorySet(DataCategory.allCases)

    /// Whether `category` is in the set.
    @inlinable public func contains(_ category: DataCategory) -> Bool { rawValue & Self.bit(category) != 0 }

    /// Adds `category` to the set.
    @inlinable public mutating func insert(_ category: DataCategory) { rawValue |= Self.bit(category) }

    /// The categories in the set, ascending.
    public var categories: [DataCategory] { DataCategory.allCases.filter { contains($0) } }

    /// How many categories the set holds.
    @inlinable public var count: Int { rawValue.nonzeroBitCount }

    /// The lowest category in the set, nil when empty.
    @inlinable public var first: DataCategory? {
        rawValue == 0 ? nil : DataCategory(rawValue: UInt8(truncatingIfNeeded: rawValue.trailingZeroBitCount))
    }

    @usableFromInline static func bit(_ category: DataCategory) -> UInt64 { 1 &<< UInt64(category.rawValue) }
}
