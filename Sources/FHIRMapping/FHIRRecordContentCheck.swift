import HealthLedgerProtos
import RPCCore

/// What a record labelled `application/fhir+json` must be: one FHIR R4 resource in JSON, of a resource type its data
/// category may hold. Fed the content chunk by chunk as it arrives, it fails at the first byte that settles the
/// matter, so a wrong resource type is refused before the rest of a large resource is uploaded.
public struct FHIRRecordContentCheck: Sendable {
    /// The media type of a FHIR resource in JSON.
    public static let mediaType = "application/fhir+json"

    /// The record's category.
    public let category: Healthledger_V1_DataCategory
    private var inspector = FHIRContentInspector()
    private var resourceTypeChecked = false

    /// The check of a record of `category` whose metadata says `mediaType`; nil when the media type is not FHIR
    /// JSON. Throws INVALID_ARGUMENT, naming `field`, when it is FHIR JSON of a version other than R4.
    public init?(mediaType: String, category: Healthledger_V1_DataCategory, field: String) throws(RPCError) {
        guard let parameters = Self.fhirJSONParameters(mediaType) else { return nil }
        for (name, value) in parameters where name == "fhirversion" {
            guard value == "4.0" || value.hasPrefix("4.0.") else {
                throw RPCError(
                    .invalidArgument,
                    "\(field): fhirVersion \(value) is not supported; records are checked as FHIR R4 (fhirVersion=4.0)")
            }
        }
        self.category = category
    }

    /// Whether `mediaType` is FHIR JSON: `application/fhir+json` in any case, with or without parameters.
    public static func isFHIRJSON(_ mediaType: String) -> Bool { fhirJSONParameters(mediaType) != nil }

    /// The parameters (names lowercased, values unquoted) of a FHIR JSON media type; nil for any other type.
    static func fhirJSONParameters(_ mediaType: String) -> [(name: String, value: String)]? {
        let parts = mediaType.split(separator: ";", omittingEmptySubsequences: false).map { trimmed($0) }
        guard let type = parts.first, type.lowercased() == Self.mediaType else { return nil }
        return parts.dropFirst().compactMap { parameter in
            guard let equals = parameter.firstIndex(of: "=") else { return nil }
            var value = trimmed(parameter[parameter.index(after: equals)...])
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            return (trimmed(parameter[..<equals]).lowercased(), value)
        }
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// Inspects the next chunk of content.
    public mutating func inspect(_ chunk: [UInt8]) throws(RPCError) {
        do {
            try inspector.inspect(chunk)
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
        try checkResourceType()
    }

    /// Ends the content; returns its resource type, or throws when the content was not one whole resource.
    public mutating func finish() throws(RPCError) -> String {
        let resourceType: String
        do {
            resourceType = try inspector.finish()
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
        try checkResourceType()
        return resourceType
    }

    private mutating func checkResourceType() throws(RPCError) {
        guard !resourceTypeChecked, let resourceType = inspector.resourceType else { return }
        resourceTypeChecked = true
        if let error = Self.categoryMismatch(resourceType, category) { throw error }
    }

    /// The INVALID_ARGUMENT error when a record of `category` may not hold a `resourceType`, else nil.
    public static func categoryMismatch(_ resourceType: String, _ category: Healthledger_V1_DataCategory) -> RPCError? {
        let terms = FHIRVocabulary.terms(category)
        if terms?.resourceTypes.contains(resourceType) == true { return nil }
        var reason = "\"\(resourceType)\" does not fit category \(protoName(category))"
        if let terms { reason += " (a \(terms.code) record holds \(terms.resourceTypes.joined(separator: ", ")))" }
        let fitting = FHIRVocabulary.categories(holding: resourceType).compactMap { FHIRVocabulary.terms($0)?.code }
        reason += fitting.isEmpty ? "; no category holds it" : "; it fits \(fitting.joined(separator: ", "))"
        return RPCError(.invalidArgument, "content.resourceType: \(reason)")
    }

    /// The category's name in the proto, e.g. DATA_CATEGORY_CLINICAL_NOTES.
    static func protoName(_ category: Healthledger_V1_DataCategory) -> String {
        guard let terms = FHIRVocabulary.terms(category) else { return "DATA_CATEGORY_\(category.rawValue)" }
        return "DATA_CATEGORY_" + terms.code.uppercased().map { $0 == "-" ? "_" : String($0) }.joined()
    }
}
