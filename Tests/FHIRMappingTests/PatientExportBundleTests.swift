import FHIRMapping
import HealthLedgerProtos
import Testing

/// The export Bundle written entry by entry: its pieces make one valid JSON Bundle, FHIR records are spliced byte
/// for byte, and other records read as DocumentReferences.
@Suite struct PatientExportBundleTests {
    static let patient = "hl1qpatientpatientpatientpatientpatient01"
    static let author = "hl1qclinicianclinicianclinicianclinician2"

    static func record(
        _ category: Healthledger_V1_DataCategory, mediaType: String, size: UInt64, erased: Bool = false,
        amends: String? = nil
    ) -> Healthledger_V1_Record {
        var metadata = Healthledger_V1_RecordMetadata()
        metadata.patient = patient
        metadata.category = category
        metadata.contentSha256 = [UInt8](repeating: 0xAB, count: 32)
        metadata.sizeBytes = size
        metadata.mediaType = mediaType
        metadata.effectiveAtUnixMs = 1_700_000_000_000
        metadata.amendsRecordId = amends
        var record = Healthledger_V1_Record()
        record.recordId = String(repeating: "d4", count: 32)
        record.metadata = metadata
        record.author = author
        record.createdAtUnixMs = 1_795_000_000_000
        record.contentErased = erased
        return record
    }

    @Test func theEntriesWrittenOneByOneMakeOneBundleWithTheResourcesInOrder() throws {
        var bundle = PatientExportBundle(chainID: "test-chain", exportSequence: 42, timestampUnixMs: 1_795_000_000_000)
        let observation = Array("{ \"resourceType\" : \"Observation\", \"valueQuantity\": {\"value\": 4.10} }".utf8)
        var text = bundle.opening()
        text += bundle.entry(resourceText: observation)
        text += bundle.entry(
            PatientExportBundle.documentReference(for: Self.record(.labs, mediaType: "application/pdf", size: 10)))
        text += bundle.closing()
        #expect(bundle.entryCount == 2)

        let parsed = try FHIRJSONParser.parse(text)
        #expect(parsed["resourceType"] == .string("Bundle"))
        #expect(parsed["id"] == .string("export-42"))
        #expect(parsed["type"] == .string("collection"))
        #expect(parsed["timestamp"] == .string("2026-11-18T11:06:40Z"))
        #expect(parsed["identifier"]?["value"] == .string("test-chain/42"))
        let entries = try #require(parsed["entry"]?.arrayValue)
        #expect(entries.map { $0["resource"]?["resourceType"]?.stringValue } == ["Observation", "DocumentReference"])
        #expect(text.firstRange(of: observation) != nil, "the FHIR record is spliced as written")
        #expect(entries[0]["resource"]?["valueQuantity"]?["value"] == .number("4.10"))
    }

    @Test func aBundleWithoutEntriesHasNoEmptyEntryArray() throws {
        let bundle = PatientExportBundle(chainID: "c", exportSequence: 1, timestampUnixMs: 0)
        let parsed = try FHIRJSONParser.parse(bundle.opening() + bundle.closing())
        #expect(parsed["entry"] == nil)
        #expect(parsed["resourceType"] == .string("Bundle"))
    }

    @Test(arguments: [
        ("application/fhir+json", true), ("Application/FHIR+JSON; fhirVersion=4.0", true),
        (" application/fhir+json ;charset=utf-8", true), ("application/json", false), ("application/fhir+xml", false),
    ])
    func fhirJSONIsRecognisedByItsMediaTypeEssence(mediaType: String, isFHIR: Bool) {
        #expect(FHIRRecordContentCheck.isFHIRJSON(mediaType) == isFHIR)
    }

    @Test(
        arguments: [
            ("{\"resourceType\":\"Observation\"}", "Observation"),
            ("\n  {\"status\": \"final\", \"resourceType\": \"Condition\"}\n", "Condition"),
            ("[{\"resourceType\":\"Observation\"}]", nil),
            ("{\"resourceType\":\"observation\"}", nil),
            ("{\"resourceType\":\"Obs ervation\"}", nil),
            ("{\"resourceType\":7}", nil),
            ("{\"status\":\"final\"}", nil),
            ("{\"resourceType\":\"Observation\",\"resourceType\":\"Patient\"}", nil),
            ("not json", nil),
        ] as [(String, String?)])
    func onlyAJSONObjectWithAResourceTypeIsSplicedAsItIs(content: String, resourceType: String?) {
        #expect(PatientExportBundle.embeddableResourceType(Array(content.utf8)) == resourceType)
    }

    @Test func aRecordIsDescribedByADocumentReferenceWithoutItsContent() {
        let document = PatientExportBundle.documentReference(
            for: Self.record(
                .mentalHealth, mediaType: "application/pdf", size: 2_048, amends: String(repeating: "e5", count: 32)))
        GoldenFile.expect(document, equals: "documentreference-record.json")
        #expect(document["meta"]?["security"]?.arrayValue?.first?["code"] == .string("PSY"))
        #expect(document["content"]?.arrayValue?.first?["attachment"]?["size"] == .number("2048"))
        #expect(document["content"]?.arrayValue?.first?["attachment"]?["data"] == nil)
    }

    @Test func anErasedRecordSaysSoAndALargeOneGivesItsSizeInTheExtension() {
        let erased = PatientExportBundle.documentReference(
            for: Self.record(.labs, mediaType: "text/plain", size: 12, erased: true))
        GoldenFile.expect(erased, equals: "documentreference-erased.json")
        #expect(erased["description"] != nil)

        let genome = PatientExportBundle.documentReference(
            for: Self.record(.genomics, mediaType: "application/octet-stream", size: 3_000_000_000))
        GoldenFile.expect(genome, equals: "documentreference-large.json")
        let attachment = genome["content"]?.arrayValue?.first?["attachment"]
        #expect(attachment?["size"] == nil)
        #expect(attachment?["extension"]?.arrayValue?.first?["valueDecimal"] == .number("3000000000"))
        let fits = PatientExportBundle.documentReference(
            for: Self.record(
                .genomics, mediaType: "application/octet-stream", size: PatientExportBundle.largestAttachmentSize))
        #expect(fits["content"]?.arrayValue?.first?["attachment"]?["size"] == .number("2147483647"))
    }
}
