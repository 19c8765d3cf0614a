import FHIRMapping
import Testing

@Suite struct FHIRJSONTests {
    @Test func parsedTextWritesBackInTheSameOrderWithNumbersAsWritten() throws {
        let text = #"{"resourceType":"Observation","valueQuantity":{"value":4.50,"unit":"mmol/L"},"b":[true,false,null],"é":"\u00e9\n"}"#
        let value = try FHIRJSONParser.parse(text)
        #expect(value["resourceType"] == .string("Observation"))
        #expect(value["valueQuantity"]?["value"] == .number("4.50"))
        #expect(value["é"] == .string("é\n"))
        #expect(value.text(pretty: false) == #"{"resourceType":"Observation","valueQuantity":{"value":4.50,"unit":"mmol/L"},"b":[true,false,null],"é":"é\n"}"#)
        #expect(try FHIRJSONParser.parse(value.serialized(pretty: true)) == value)
    }

    @Test func surrogatePairsDecodeAndLoneSurrogatesAreRefused() throws {
        #expect(try FHIRJSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(throws: FHIRJSONSyntaxError.self) { try FHIRJSONParser.parse(#""\ud83d""#) }
        #expect(throws: FHIRJSONSyntaxError.self) { try FHIRJSONParser.parse(#""\ude00""#) }
    }

    @Test(arguments: [
        ("{\"a\":1,}", 7, "expected a member name in quotes"),
        ("{\"a\":1,\"a\":2}", 7, "duplicate member \"a\""),
        ("[01]", 2, "a number may not start with 0"),
        ("[1.]", 3, "expected a digit after '.'"),
        ("{} x", 3, "text after the JSON value"),
        ("\"a\u{01}\"", 2, "control character in a string (write it escaped)"),
        ("", 0, "unexpected end of text"),
        ("[\"\\x\"]", 3, "unknown escape"),
    ])
    func malformedTextIsRefusedAtTheFirstByteThatDoesNotFit(text: String, offset: Int, reason: String) {
        #expect(throws: FHIRJSONSyntaxError(offset: offset, reason: reason)) { try FHIRJSONParser.parse(text) }
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        #expect(throws: FHIRJSONSyntaxError.self) { try FHIRJSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(throws: FHIRJSONSyntaxError.self) { try FHIRJSONParser.parse(deep) }
        let allowed = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try FHIRJSONParser.parse(allowed) }
    }

    @Test func membersLeaveOutNilValuesAndStringsEscapeControlCharacters() {
        let value = FHIRJSON.members(["a": .string("x\"\\\u{01}/"), "b": nil, "c": .integer(-3)])
        #expect(value.text(pretty: false) == #"{"a":"x\"\\\u0001/","c":-3}"#)
    }
}

@Suite struct FHIRDateTimeTests {
    @Test func instantsWriteInUTCWithAFractionOnlyWhenThereIsOne() {
        #expect(FHIRDateTime.text(0) == "1970-01-01T00:00:00Z")
        #expect(FHIRDateTime.text(1_795_780_800_250) == "2026-11-27T12:00:00.250Z")
        #expect(FHIRDateTime.text(-1) == "1969-12-31T23:59:59.999Z")
        #expect(FHIRDateTime.text(951_782_400_000) == "2000-02-29T00:00:00Z")
        #expect(FHIRDateTime.text(FHIRDateTime.earliest) == "0001-01-01T00:00:00Z")
        #expect(FHIRDateTime.text(FHIRDateTime.endOfYear9999 - 1) == "9999-12-31T23:59:59.999Z")
        #expect(FHIRDateTime.text(FHIRDateTime.endOfYear9999) == nil)
        #expect(FHIRDateTime.text(FHIRDateTime.earliest - 1) == nil)
    }

    @Test func aTextStandsForTheWholeSpanOfItsPrecision() {
        let day: Int64 = 86_400_000
        let start2026: Int64 = 1_767_225_600_000
        #expect(FHIRDateTime.span("2026") == FHIRDateTime.Span(start: start2026, end: 1_798_761_600_000))
        let february = FHIRDateTime.Span(start: start2026 + 31 * day, end: start2026 + 59 * day)
        #expect(FHIRDateTime.span("2026-02") == february)
        #expect(FHIRDateTime.span("2026-12") == FHIRDateTime.Span(start: 1_796_083_200_000, end: 1_798_761_600_000))
        #expect(FHIRDateTime.span("2026-01-02") == FHIRDateTime.Span(start: start2026 + day, end: start2026 + 2 * day))
        #expect(FHIRDateTime.span("2026-01-01T00:00:01Z") == FHIRDateTime.Span(start: start2026 + 1000, end: start2026 + 2000))
        #expect(FHIRDateTime.span("2026-01-01T00:00:00.5Z") == FHIRDateTime.Span(start: start2026 + 500, end: start2026 + 600))
        #expect(FHIRDateTime.span("2026-01-01T00:00:00.250Z") == FHIRDateTime.Span(start: start2026 + 250, end: start2026 + 251))
        #expect(FHIRDateTime.span("2026-01-01T00:00:00.2509Z") == FHIRDateTime.Span(start: start2026 + 250, end: start2026 + 251))
        #expect(FHIRDateTime.span("2026-01-01T01:30:00+01:30") == FHIRDateTime.Span(start: start2026, end: start2026 + 1000))
        #expect(FHIRDateTime.span("2025-12-31T19:00:00-05:00") == FHIRDateTime.Span(start: start2026, end: start2026 + 1000))
    }

    @Test(arguments: [
        "", "26", "2026-13", "2026-02-29", "2026-1-01", "2026-01-01T00:00Z", "2026-01-01T00:00:00",
        "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+15:00", "0000", "2026-01-01T00:00:00Zx",
    ])
    func malformedTextsHaveNoSpan(text: String) {
        #expect(FHIRDateTime.span(text) == nil)
    }

    @Test func everyWrittenInstantReadsBackAsItsOwnMillisecond() {
        for milliseconds: Int64 in [0, 1, 999, 1000, -1, 1_795_780_800_250, FHIRDateTime.earliest, 253_402_300_799_999] {
            let text = FHIRDateTime.text(milliseconds)!
            #expect(FHIRDateTime.span(text)?.start == milliseconds, "\(text)")
        }
    }
}
