import HealthLedgerProtos

/// The patient's export as a FHIR R4 Bundle of type `collection`, written entry by entry so that an export of any
/// size is produced in bounded memory: `opening()`, then one `entry` call per resource, then `closing()`; the
/// concatenation of what they return is the Bundle's UTF-8 JSON text. Each entry is written on a line of its own.
/// docs/FHIR.md ("The patient's export Bundle") says what the Bundle holds.
public struct PatientExportBundle: Sendable {
    /// Identifier system of exports: the value is "<chain id>/<sequence of the export's first audit event>".
    public static let exportSystem = FHIRSystem.base + "/sid/export"
    /// Extension giving a record's size in bytes when it is too large for R4's Attachment.size (an unsignedInt, at
    /// most 2^31 − 1), as a decimal integer.
    public static let contentSizeExtension = FHIRSystem.base + "/StructureDefinition/content-size"
    /// The largest size Attachment.size holds.
    public static let largestAttachmentSize: UInt64 = 2_147_483_647

    /// Entries written so far.
    public private(set) var entryCount = 0
    private let chainID: String
    private let exportSequence: UInt64
    private let timestampUnixMs: Int64

    /// A Bundle for the export logged as audit event `exportSequence` of chain `chainID`, made at `timestampUnixMs`.
    public init(chainID: String, exportSequence: UInt64, timestampUnixMs: Int64) {
        self.chainID = chainID
        self.exportSequence = exportSequence
        self.timestampUnixMs = timestampUnixMs
    }

    /// The Bundle's logical id, "export-<sequence>".
    public var bundleID: String { "export-\(exportSequence)" }

    /// The text before the first entry: resourceType, id, identifier, type and timestamp.
    public func opening() -> [UInt8] {
        let header: FHIRJSON = .members([
            "resourceType": .string("Bundle"),
            "id": .string(bundleID),
            "identifier": FHIRVocabulary.identifier(Self.exportSystem, "\(chainID)/\(exportSequence)"),
            "type": .string("collection"),
            "timestamp": .string(FHIRDateTime.text(timestampUnixMs) ?? FHIRDateTime.text(0)!),
        ])
        var text = header.serialized(pretty: false)
        text.removeLast()  // the "}" closing() writes after the entries
        return text
    }

    /// The text of one entry holding `resource`.
    public mutating func entry(_ resource: FHIRJSON) -> [UInt8] {
        var text = entryPrefix()
        resource.write(to: &text, pretty: false, indent: 0)
        text.append(UInt8(ascii: "}"))
        return text
    }

    /// The text of one entry holding the resource whose JSON text is `resourceText`, spliced byte for byte (the
    /// caller has checked it is a JSON object with a resourceType, `embeddableResourceType(_:)`).
    public mutating func entry(resourceText: [UInt8]) -> [UInt8] {
        var text = entryPrefix()
        text.append(contentsOf: resourceText)
        text.append(UInt8(ascii: "}"))
        return text
    }

    /// The text after the last entry.
    public func closing() -> [UInt8] {
        Array((entryCount == 0 ? "}\n" : "\n]}\n").utf8)
    }

    private mutating func entryPrefix() -> [UInt8] {
        // FHIR forbids an empty array, so "entry" is opened by the first entry.
        var text = Array((entryCount == 0 ? ",\"entry\":[\n" : ",\n").utf8)
        text.append(contentsOf: "{\"resource\":".utf8)
        entryCount += 1
        return text
    }

    /// The resourceType of `content` when it is a JSON object whose resourceType is a FHIR resource type name, so it
    /// can be spliced into a Bundle as it is; nil otherwise (the record is then exported as a DocumentReference).
    public static func embeddableResourceType(_ content: [UInt8]) -> String? {
        // The same check Write makes of FHIR content, in bounded memory whatever the record's size.
        try? FHIRContentInspector.inspect(content)
    }

    /// A record as a DocumentReference: what the ledger knows of it (ids, content hash, category, author, dates,
    /// media type and size), never its content.
    public static func documentReference(for record: Healthledger_V1_Record) -> FHIRJSON {
        let metadata = record.metadata ?? Healthledger_V1_RecordMetadata()
        let terms = FHIRVocabulary.terms(metadata.category)
        let loinc = terms?.standardCodes.first { $0.system == FHIRSystem.loinc }
        let sizeFits = metadata.sizeBytes <= largestAttachmentSize
        let attachment: FHIRJSON = .members([
            "extension": sizeFits
                ? nil
                : .array([
                    .members([
                        "url": .string(contentSizeExtension), "valueDecimal": .number(String(metadata.sizeBytes)),
                    ])
                ]),
            "contentType": .string(metadata.mediaType),
            "size": sizeFits ? .integer(metadata.sizeBytes) : nil,
        ])
        let effective = FHIRDateTime.text(metadata.effectiveAtUnixMs).map(FHIRJSON.string)
        return .members([
            "resourceType": .string("DocumentReference"),
            "id": .string(record.recordId),
            "meta": terms?.sensitivityLabel.map { .members(["security": .array([$0.json])]) },
            "identifier": .array([
                FHIRVocabulary.identifier(FHIRSystem.record, record.recordId),
                FHIRVocabulary.identifier(FHIRSystem.contentSHA256, AuditEventMapping.hex(metadata.contentSha256)),
            ]),
            "status": .string("current"),
            "type": loinc.map { .members(["coding": .array([$0.json])]) },
            "category": terms.map { .array([$0.codeableConcept]) },
            "subject": FHIRVocabulary.principalReference(metadata.patient, type: "Patient"),
            "date": FHIRDateTime.text(record.createdAtUnixMs).map(FHIRJSON.string),
            "author": .array([FHIRVocabulary.principalReference(record.author)]),
            "description": record.contentErased
                ? .string("content erased at the patient's request; the ledger keeps its hash") : nil,
            "relatesTo": metadata.amendsRecordId.map { amended in
                .array([
                    .members([
                        "code": .string("replaces"),
                        "target": .members([
                            "type": .string("DocumentReference"),
                            "identifier": FHIRVocabulary.identifier(FHIRSystem.record, amended),
                        ]),
                    ])
                ])
            },
            "content": .array([.members(["attachment": attachment])]),
            "context": effective.map { .members(["period": .members(["start": $0, "end": $0])]) },
        ])
    }
}
