import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// Records whose content is a FHIR resource (media type application/fhir+json).
    @Suite("FHIR content")
    struct FHIRContent {
        typealias Writes = LedgerSecurityTests.Writes

        /// A potassium result, written the way an EHR might: its own spacing, member order and decimal precision.
        static let potassium = Array(
            """
            {"resourceType" : "Observation",
              "status":"final", "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
              "code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium [Moles/volume] in Serum or Plasma"}]},
              "valueQuantity":{"value":4.10,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},
              "note":[{"text":"h\\u00e9molys\u{e9} \\ud83e\\ude78"}]
            }

            """.utf8)

        @Test(
            "an Observation written as labs with media type application/fhir+json is accepted, and Query returns its exact bytes"
        )
        func observationAsLabs() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let lab = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: lab.id, actions: [.write], categories: [.labs]))

                let written = try await lab.client.write(
                    patient: patient.id, category: .labs, content: Self.potassium,
                    mediaType: "Application/FHIR+JSON; fhirVersion=4.0")

                let read = try await patient.client.query(.of(patient.id, [.labs], purpose: .patientRequest))
                #expect(read.records.map(\.record.recordId) == [record, written.recordId])
                let fhir = try #require(read.records.last)
                #expect(fhir.content == Self.potassium)
                #expect(fhir.record.metadata?.mediaType == "Application/FHIR+JSON; fhirVersion=4.0")
            }
        }

        /// FHIR content Write refuses, and the element its message names first.
        enum BadResource: String, CaseIterable, Sendable, CustomTestStringConvertible {
            case patientAsLabs, notJSON, missingResourceType, topLevelArray, lateErrorIn2MiB, fhirVersion5

            var testDescription: String { rawValue }

            /// The content, in chunks of at most 1 MiB.
            var chunks: [[UInt8]] {
                switch self {
                case .patientAsLabs: return [Array(#"{"resourceType":"Patient","name":[{"family":"Ng"}]}"#.utf8)]
                case .notJSON: return [Array("potassium: 4.1 mmol/L".utf8)]
                case .missingResourceType: return [Array(#"{"status":"final","code":{"text":"K"}}"#.utf8)]
                case .topLevelArray: return [Array(#"[{"resourceType":"Observation","status":"final"}]"#.utf8)]
                case .lateErrorIn2MiB:
                    // A DocumentReference of 2 MiB whose only fault, a missing closing brace, is at its very end.
                    let head = Array(
                        #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","data":""#
                            .utf8)
                    let body =
                        head + [UInt8](repeating: UInt8(ascii: "Q"), count: (2 << 20) - head.count - 4)
                        + Array(#""}}]"#.utf8)
                    return [Array(body[..<(1 << 20)]), Array(body[(1 << 20)...])]
                case .fhirVersion5: return [Array(#"{"resourceType":"Observation","status":"final"}"#.utf8)]
                }
            }

            var mediaType: String {
                self == .fhirVersion5 ? "application/fhir+json; fhirVersion=5.0" : "application/fhir+json"
            }

            /// The element the message starts with, and a part of what it says.
            var expected: (element: String, saying: String) {
                switch self {
                case .patientAsLabs:
                    (
                        "content.resourceType",
                        #""Patient" does not fit category DATA_CATEGORY_LABS (a labs record holds Observation, DiagnosticReport, Specimen, DocumentReference)"#
                    )
                case .notJSON: ("content", "not JSON at byte 0: unexpected character")
                case .missingResourceType: ("content.resourceType", "required")
                case .topLevelArray: ("content", "a FHIR resource is a JSON object, not an array")
                case .lateErrorIn2MiB: ("content", "not JSON at byte \(2 << 20): expected ',' or '}' in an object")
                case .fhirVersion5: ("transaction.body.write_record.media_type", "fhirVersion 5.0 is not supported")
                }
            }
        }

        @Test(
            "FHIR content that is not one resource its category may hold is INVALID_ARGUMENT naming the element, and nothing is committed or kept",
            arguments: BadResource.allCases)
        func badResource(_ flaw: BadResource) async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let sequence = try await patient.nextSequence()
                let chunks = flaw.chunks
                let content = chunks.flatMap { $0 }
                let signed = try await patient.signed(
                    .writeRecord(.describing(content, of: patient.id, category: .labs, mediaType: flaw.mediaType)))
                var messages: [Healthledger_V1_WriteRequest] = [.signedTransaction(signed)]
                var offset = 0
                for chunk in chunks {
                    messages.append(.contentChunk(chunk, at: offset))
                    offset += chunk.count
                }

                let error = await expectStatus(.invalidArgument, "\(flaw)") {
                    try await patient.submitWrite(messages)
                }
                expectNames(error, field: flaw.expected.element)
                #expect(error?.message.contains(flaw.expected.saying) == true, "\(error?.message ?? "")")
                #expect(error?.message.contains("\n") == false)
                #expect(try await patient.nextSequence() == sequence)
                #expect(try await Writes.recordIDs(of: patient, [.all]) == [record])
                let stored = storedContentFiles(on: node, patient: patient.id)
                #expect(!stored.records.contains(Hex.encode(SHA256.hash(content))))
                #expect(stored.temporary.isEmpty)
            }
        }

        @Test("the same bytes labelled application/json are stored without a FHIR check")
        func plainJSONIsNotChecked() async throws {
            try await withLedgerNode { node in
                let patient = try Participant(on: node)
                let content = Array(#"[{"resourceType":"Patient"}]"#.utf8)
                let written = try await patient.client.write(
                    patient: patient.id, category: .labs, content: content, mediaType: "application/json")
                let read = try await patient.client.query(.of(patient.id, [.labs], purpose: .patientRequest))
                #expect(read.records.map(\.record.recordId) == [written.recordId])
                #expect(read.records.first?.content == content)
            }
        }
    }
}
