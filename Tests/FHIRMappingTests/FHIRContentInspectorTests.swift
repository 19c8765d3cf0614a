import FHIRMapping
import HealthLedgerProtos
import RPCCore
import Testing

/// A seeded pseudo-random source (SplitMix64), so a failing mutation is the same on every run.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the inspector says of some bytes: the resource type, or the error.
enum InspectionResult: Equatable, CustomStringConvertible {
    case resource(String)
    case refused(FHIRContentError)

    var description: String {
        switch self {
        case .resource(let type): "resource \(type)"
        case .refused(let error): "refused at \(error.offset): \(error)"
        }
    }

    var error: FHIRContentError? {
        if case .refused(let error) = self { return error }
        return nil
    }
}

@Suite struct FHIRContentInspectorTests {
    static let observation = """
        {
          "resourceType": "Observation",
          "id": "k-1",
          "status": "final",
          "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
          "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium [Moles/volume] in Serum or Plasma"}]},
          "subject": {"reference": "Patient/p-1", "display": "Zoë Ångström \\u00e9\\ud83d\\ude00 漢字 😀"},
          "effectiveDateTime": "2026-03-01T08:30:00Z",
          "valueQuantity": {"value": 4.10, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
          "referenceRange": [{"low": {"value": 3.5e0}, "high": {"value": -0.51E+1}, "text": "tab\\tquote\\"slash\\/\\\\"}],
          "note": [{"text": "line\\nbreak\\r\\b\\f"}],
          "extension": [[], {}, [null, true, false, 0, -0, 12, 0.5, 1E-2]]
        }
        """

    /// Texts the differential test starts from, valid and not; mutations of these follow.
    static let corpus: [String] = [
        observation,
        #"{"resourceType":"Patient"}"#,
        #"{"resourc\u0065Type":"Pati\u0065nt","name":[{"family":"Ng"}]}"#,
        #" { "id" : "x" , "resourceType" : "Condition" } "#,
        #"{"resourceType":"Patient","resourceType":"Patient"}"#,
        #"{"a":{"b":1,"b":2},"resourceType":"Patient"}"#,
        #"{"resourceType":"Foo"}"#, #"{"resourceType":1}"#, #"{"resourceType":{}}"#, #"{"resourceType":null}"#,
        #"{"id":"1"}"#, "{}", "[]", "[1,2]", #""Patient""#, "12", "true", "null", "", "   ",
        #"{"resourceType":"Patient",}"#, #"{"resourceType":"Patient"} x"#, #"{"resourceType":"Patient"}}"#,
        #"{"resourceType":"Patient","a":[1,]}"#, #"{"resourceType":"Patient","a":01}"#,
        #"{"resourceType":"Patient","a":1.}"#, #"{"resourceType":"Patient","a":1e}"#,
        #"{"resourceType":"Patient","a":-}"#,
        #"{"resourceType":"Patient","a":"\x"}"#, #"{"resourceType":"Patient","a":"\u12"}"#,
        #"{"resourceType":"Patient","a":"\ud800"}"#, #"{"resourceType":"Patient","a":"\udc00"}"#,
        #"{"resourceType":"Patient","a":"\ud800\u0041"}"#, #"{"resourceType":"Patient","a":"\ud800\n"}"#,
        #"{"resourceType":"Patient","a":tru}"#, #"{"resourceType":"Patient","a":nulls}"#,
        #"{"resourceType":"Patient" "a":1}"#, #"{"resourceType" "Patient"}"#, #"{resourceType:"Patient"}"#,
        #"{"resourceType":"Patient","a":"unterminated"#, #"{"resourceType":"Patient""#,
        "{\"resourceType\":\"Patient\",\"a\":\"tab\tinside\"}",
        "{\"resourceType\":\"Patient\"," + String(repeating: "[", count: 99) + String(repeating: "]", count: 99) + "}",
        "{\"resourceType\":\"Patient\"," + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            + "}",
        "{\"resourceType\":\"Patient\",\"a\":" + String(repeating: "[", count: 99) + String(repeating: "]", count: 99)
            + "}",
        "{\"resourceType\":\"Patient\",\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            + "}",
    ]

    /// Invalid UTF-8 in strings and outside them, which Swift string literals cannot hold.
    static let byteCorpus: [[UInt8]] = {
        let prefix = Array(#"{"resourceType":"Patient","a":""#.utf8)
        let suffix = Array(#""}"#.utf8)
        let sequences: [[UInt8]] = [
            [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0xA9],
            [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF],
            [0xC3, 0x5C, 0x6E], [0x41, 0xFF, 0x01], [0xFF, 0x5C, 0x78],
        ]
        var texts = sequences.map { prefix + $0 + suffix }
        texts.append(Array(#"{"resourceType":"Patient","a":1}"#.utf8) + [0xC3, 0xA9])
        texts.append([0xEF, 0xBB, 0xBF] + Array(#"{"resourceType":"Patient"}"#.utf8))
        texts.append(Array(#"{"resourceType":"Pat"#.utf8) + [0xC3, 0xA9] + Array(#"ient"}"#.utf8))
        return texts
    }()

    /// The inspector's verdict on `text` fed in the chunks `splits` marks (ascending offsets inside the text).
    static func inspect(_ text: [UInt8], splits: [Int]) -> InspectionResult {
        var inspector = FHIRContentInspector()
        var start = 0
        do {
            for end in splits + [text.count] where end > start || end == text.count {
                try inspector.inspect(Array(text[start..<end]))
                start = end
            }
            return .resource(try inspector.finish())
        } catch {
            return .refused(error)
        }
    }

    /// The verdict every chunking must give, checked against FHIRJSONParser's.
    static func expectAgreement(
        _ text: [UInt8], random: inout SeededRandom, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let whole = inspect(text, splits: [])
        var chunkings: [[Int]] = [Array(0..<text.count)]
        for _ in 0..<3 where text.count > 1 {
            chunkings.append(
                (0..<Int.random(in: 1...4, using: &random)).map { _ in Int.random(in: 0..<text.count, using: &random) }
                    .sorted())
        }
        for splits in chunkings {
            let result = inspect(text, splits: splits)
            #expect(
                result == whole, "chunked at \(splits.prefix(8)) of \(text.count) bytes", sourceLocation: sourceLocation
            )
        }
        let shown = String(decoding: text.prefix(200), as: UTF8.self).debugDescription
        do {
            let value = try FHIRJSONParser.parse(text)
            switch (expectedVerdict(of: value), whole) {
            case (.resource(let type), .resource(let found)):
                #expect(type == found, "\(shown)", sourceLocation: sourceLocation)
            case (.refused(let expected), .refused(let found)):
                #expect(
                    found.element == expected.element && found.reason == expected.reason, "\(shown): \(found)",
                    sourceLocation: sourceLocation)
                #expect(found.syntax == nil, "\(shown): \(found)", sourceLocation: sourceLocation)
            case (let expected, let found):
                Issue.record("\(shown): expected \(expected), found \(found)", sourceLocation: sourceLocation)
            }
        } catch {
            if error.reason.hasPrefix("duplicate member"), nestingDepth(of: text, at: error.offset) > 1 {
                // Nested duplicates are beyond the inspector's bounded memory (see its documentation).
                return
            }
            guard let found = whole.error else {
                Issue.record(
                    "\(shown): the parser refused it (\(error)) but the inspector found \(whole)",
                    sourceLocation: sourceLocation)
                return
            }
            if let syntax = found.syntax {
                #expect(syntax == error, "\(shown)", sourceLocation: sourceLocation)
            } else {
                #expect(
                    found.offset <= error.offset, "\(shown): \(found) before the parser's \(error)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    /// What a resource's checks make of a value FHIRJSONParser accepted.
    static func expectedVerdict(of value: FHIRJSON) -> InspectionResult {
        func refused(_ element: String, _ reason: String) -> InspectionResult {
            .refused(FHIRContentError(element: element, offset: 0, reason: reason))
        }
        switch value {
        case .object:
            switch value["resourceType"] {
            case nil: return refused("content.resourceType", "required")
            case .string(let type)?:
                return FHIRResourceTypes.r4.contains(type)
                    ? .resource(type) : refused("content.resourceType", "\"\(type)\" is not a FHIR R4 resource type")
            default: return refused("content.resourceType", "must be a string")
            }
        case .array: return refused("content", "a FHIR resource is a JSON object, not an array")
        case .string: return refused("content", "a FHIR resource is a JSON object, not a string")
        case .bool: return refused("content", "a FHIR resource is a JSON object, not a boolean")
        case .null: return refused("content", "a FHIR resource is a JSON object, not null")
        case .number: return refused("content", "a FHIR resource is a JSON object, not a number")
        }
    }

    /// How many containers are open at `offset` of a JSON text (strings skipped).
    static func nestingDepth(of text: [UInt8], at offset: Int) -> Int {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in text.prefix(offset) {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
            }
        }
        return depth
    }

    @Test func everyCorpusTextGetsTheParsersVerdictInEveryChunking() {
        var random = SeededRandom(state: 1)
        for text in Self.corpus.map({ Array($0.utf8) }) + Self.byteCorpus {
            Self.expectAgreement(text, random: &random)
        }
    }

    @Test func mutatedResourcesGetTheParsersVerdictInEveryChunking() {
        var random = SeededRandom(state: 10)
        let alphabet: [UInt8] =
            Array(#"{}[]:,"\/u0123456789.eE+-tfnrl aA"#.utf8) + [
                0x00, 0x01, 0x09, 0x0A, 0x7F, 0x80, 0xBF, 0xC3, 0xA9, 0xED, 0xA0, 0xF0, 0x9F, 0xF4, 0xFF,
            ]
        let seeds = Self.corpus.prefix(4).map { Array($0.utf8) }
        for round in 0..<4_000 {
            var text = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) where !text.isEmpty {
                let at = Int.random(in: 0..<text.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: text[at] = alphabet.randomElement(using: &random)!
                case 1: text.insert(alphabet.randomElement(using: &random)!, at: at)
                case 2: text.remove(at: at)
                case 3:
                    let end = min(text.count, at + Int.random(in: 1...12, using: &random))
                    text.insert(contentsOf: text[at..<end], at: Int.random(in: 0...text.count, using: &random))
                default: text.removeLast(Int.random(in: 0...min(text.count, 8), using: &random))
                }
            }
            Self.expectAgreement(text, random: &random)
        }
    }

    @Test func aStringByteThatEndsAPlainRunIsFoundAtEveryPositionOfAWord() {
        // Strings are read eight bytes at a time; put each kind of byte that stops that at every position of a word.
        var random = SeededRandom(state: 20)
        let stoppers: [[UInt8]] = [
            [0x22], [0x5C, 0x6E], [0x5C, 0x75, 0x30, 0x30, 0x65, 0x39], [0x01], [0x1F], [0xC3, 0xA9], [0xFF], [0x80],
            [0xE2, 0x82],
        ]
        for stopper in stoppers {
            for position in 0..<18 {
                let text =
                    Array(#"{"resourceType":"Patient","a":""#.utf8) + [UInt8](repeating: 0x78, count: position)
                    + stopper
                    + [UInt8](repeating: 0x7E, count: 11) + Array(#""}"#.utf8)
                Self.expectAgreement(text, random: &random)
            }
        }
    }

    @Test func aDuplicateMemberNameInsideANestedObjectIsNotLookedFor() {
        let text = Array(#"{"resourceType":"Patient","name":{"family":"A","family":"B"}}"#.utf8)
        #expect(throws: FHIRJSONSyntaxError.self) { try FHIRJSONParser.parse(text) }
        #expect(Self.inspect(text, splits: []) == .resource("Patient"))
    }

    @Test(arguments: [
        (#"{"resourceType":"Patient","a":1,"a":2}"#, "content: not JSON at byte 32: duplicate member \"a\""),
        (#"[{"resourceType":"Patient"}]"#, "content: a FHIR resource is a JSON object, not an array"),
        (#"{"id":"1"}"#, "content.resourceType: required"),
        (#"{"resourceType":["Patient"]}"#, "content.resourceType: must be a string"),
        (#"{"resourceType":"Patients"}"#, "content.resourceType: \"Patients\" is not a FHIR R4 resource type"),
        (#"{"resourceType":"Patient""#, "content: not JSON at byte 25: expected ',' or '}' in an object"),
        ("<Patient/>", "content: not JSON at byte 0: unexpected character"),
    ])
    func errorsNameTheElementAndSayWhatIsWrong(_ text: String, _ message: String) {
        #expect(Self.inspect(Array(text.utf8), splits: []).error?.description == message)
    }

    @Test func aResourceTypeIsKnownAsSoonAsItsValueEndsAndAnErrorAsSoonAsItsByteArrives() throws {
        var inspector = FHIRContentInspector()
        try inspector.inspect(Array(#"{"resourceType":"Observ"#.utf8))
        #expect(inspector.resourceType == nil)
        try inspector.inspect(Array(#"ation","id":"#.utf8))
        #expect(inspector.resourceType == "Observation")
        #expect(inspector.offset == 35)
        #expect(throws: FHIRContentError.self) { try inspector.inspect(Array(#""a", x"#.utf8)) }
        let error = try #require(
            Self.inspect(Array(#"{"resourceType":"Observation","id":"a", x"#.utf8), splits: []).error)
        #expect(error.offset == 40)
        // An inspector that failed keeps failing with the same error.
        #expect(throws: error) { try inspector.inspect(Array("}".utf8)) }
        #expect(throws: error) { try inspector.finish() }
    }

    @Test func aLargeResourceIsInspectedInBoundedStateAndItsLateErrorIsFound() throws {
        // 2 MiB of array elements and long strings; the inspector holds none of it.
        var inspector = FHIRContentInspector()
        try inspector.inspect(Array(#"{"resourceType":"DocumentReference","content":["#.utf8))
        let element = Array((#"{"attachment":{"data":""# + String(repeating: "QUJD", count: 250) + #""}},"#).utf8)
        var written = 0
        while written < 2 << 20 {
            try inspector.inspect(element)
            written += element.count
        }
        try inspector.inspect(Array(#"{}]}"#.utf8))
        #expect(try inspector.finish() == "DocumentReference")
    }

    @Test func theTopLevelMembersMayNotExceedTheirBudget() {
        func resource(members: Int, nameBytes: Int) -> [UInt8] {
            var text = #"{"resourceType":"Patient""#
            for index in 0..<members { text += ",\"" + String(repeating: "e", count: nameBytes) + "\(index)\":1" }
            return Array((text + "}").utf8)
        }
        #expect(Self.inspect(resource(members: 511, nameBytes: 1), splits: []) == .resource("Patient"))
        let many = Self.inspect(resource(members: 512, nameBytes: 1), splits: []).error
        #expect(many?.element == "content")
        #expect(many?.reason.hasPrefix("its top-level members exceed 512;") == true)
        let long = Self.inspect(resource(members: 100, nameBytes: 200), splits: []).error
        #expect(long?.element == "content")
        #expect(long?.reason.hasPrefix("its top-level members exceed 16384 bytes of names;") == true)
    }
}

@Suite struct FHIRRecordContentCheckTests {
    @Test(arguments: [
        ("application/fhir+json", true), ("Application/FHIR+JSON", true),
        ("application/fhir+json; fhirVersion=4.0", true),
        ("application/fhir+json;charset=utf-8", true), (" application/fhir+json ", true), ("application/json", false),
        ("application/fhir+xml", false), ("application/fhir+jsonx", false), ("text/plain", false),
    ])
    func fhirJSONIsRecognisedInAnyCaseWithParameters(_ mediaType: String, _ isFHIR: Bool) {
        #expect(FHIRRecordContentCheck.isFHIRJSON(mediaType) == isFHIR)
    }

    @Test func aFHIRVersionOtherThanR4IsRefusedUpFront() throws {
        #expect(
            try FHIRRecordContentCheck(
                mediaType: "application/fhir+json; fhirVersion=4.0.1", category: .labs, field: "m") != nil)
        #expect(try FHIRRecordContentCheck(mediaType: "text/plain", category: .labs, field: "m") == nil)
        let error = #expect(throws: RPCError.self) {
            try FHIRRecordContentCheck(
                mediaType: "application/fhir+json; fhirVersion=\"5.0\"", category: .labs, field: "m")
        }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message == "m: fhirVersion 5.0 is not supported; records are checked as FHIR R4 (fhirVersion=4.0)")
    }

    @Test func aPatientResourceInALabsRecordIsRefusedAsSoonAsItsResourceTypeArrives() throws {
        var check = try #require(
            try FHIRRecordContentCheck(mediaType: "application/fhir+json", category: .labs, field: "m"))
        let error = #expect(throws: RPCError.self) { try check.inspect(Array(#"{"resourceType":"Patient","#.utf8)) }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message
                == #"content.resourceType: "Patient" does not fit category DATA_CATEGORY_LABS (a labs record holds Observation, DiagnosticReport, Specimen, DocumentReference); it fits demographics"#
        )
    }

    @Test func anObservationFitsLabsAndEveryCategoryNamesItsProtoName() throws {
        var check = try #require(
            try FHIRRecordContentCheck(mediaType: "application/fhir+json", category: .labs, field: "m"))
        try check.inspect(Array(#"{"resourceType":"Observation","status":"final"}"#.utf8))
        #expect(try check.finish() == "Observation")
        #expect(
            FHIRRecordContentCheck.categoryMismatch("Observation", .clinicalNotes)?.message.contains(
                "DATA_CATEGORY_CLINICAL_NOTES (a clinical-notes record holds") == true)
        #expect(
            FHIRRecordContentCheck.categoryMismatch("Bundle", .labs)?.message.hasSuffix("; no category holds it")
                == true)
        for terms in FHIRVocabulary.categories {
            for type in terms.resourceTypes { #expect(FHIRResourceTypes.r4.contains(type), "\(type)") }
        }
    }
}
