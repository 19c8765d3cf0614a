// Stories about constants: strings with every escape, numbers in every base, and option values the
// generator parses but does not use.

import ProtoCodegen
import XCTest

final class LiteralLoadingTests: XCTestCase {
    /// The value of `option java_package = <constant>;` after loading.
    private func javaPackage(_ constant: String) throws -> String? {
        try LoaderFixture.loadFile("syntax = \"proto3\";\noption java_package = \(constant);\n").option("java_package")?.value
    }

    func testStringEscapesDecodeToTheirCharacters() throws {
        XCTAssertEqual(try javaPackage(#""a\nb\tc\\d\"e\'f\?g""#), "a\nb\tc\\d\"e'f?g")
        XCTAssertEqual(try javaPackage(#""\a\b\f\r\v""#), "\u{07}\u{08}\u{0C}\r\u{0B}")
        XCTAssertEqual(try javaPackage(#""\x41\x4a\x7""#), "AJ\u{07}")
        XCTAssertEqual(try javaPackage(#""\101\60\0""#), "A0\u{00}")
        XCTAssertEqual(try javaPackage(#""\u00e9\U0001F600""#), "é😀")
        XCTAssertEqual(try javaPackage(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(try javaPackage(#"'single "quoted"'"#), "single \"quoted\"")
        XCTAssertEqual(try javaPackage("\"héllo wörld\""), "héllo wörld")
    }

    func testAdjacentStringsAreConcatenated() throws {
        XCTAssertEqual(try javaPackage(#""org." 'health' "ledger""#), "org.healthledger")
        let file = try LoaderFixture.loadFile("syntax = \"pro\" \"to3\";\nimport \"a\" \".proto\";\n", others: ["a.proto": "syntax = 'proto3';"])
        XCTAssertEqual(file.dependencies, ["a.proto"])
    }

    func testNumbersInEveryBaseAndFloatsAreAccepted() throws {
        // Given option values in decimal, hex, octal and float forms, signed and not
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            option (dec) = 42;
            option (neg) = -42;
            option (pos) = +7;
            option (hex) = 0x1F;
            option (octal) = 017;
            option (big) = 18446744073709551615;
            option (float) = 1.5;
            option (exp) = -2.5e-3;
            option (dot) = .5;
            option (trailing_dot) = 5.;
            option (inf) = inf;
            option (neg_inf) = -inf;
            option (nan) = nan;
            option (ident) = SOME_ENUM_VALUE;
            message M { int32 hex = 0x10; int32 octal = 010; }
            enum E { E_ZERO = 0x0; E_NEG = -0x2; }
            """)
        // Then field and enum numbers take the literal's value, whatever its base
        XCTAssertEqual(file.messages[0].fields.map(\.number), [16, 8])
        XCTAssertEqual(file.enums[0].values.map(\.number), [0, -2])
    }

    func testAggregateOptionValuesAndCustomOptionNamesAreParsedAndIgnored() throws {
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            option (grpc.gateway.openapiv2) = {
              info: { title: "Ledger" version: "1.0" }
              tags: [ { name: "a" }, { name: "b}" } ]
              nested < deep: 1 >
            };
            message M {
              option (.full.name).sub.field = { a: 1 };
              int32 x = 1 [(validate.rules).int32 = { gt: 0, lt: 10 }, deprecated = true];
            }
            service S {
              rpc Get (M) returns (M) { option (google.api.http) = { get: "/v1/{name=*}" body: "*" }; }
            }
            """)
        XCTAssertEqual(file.options, [])
        XCTAssertTrue(file.messages[0].fields[0].isDeprecated)
        XCTAssertEqual(file.services[0].methods.count, 1)
    }

    func testByteOrderMarkAndWindowsLineEndingsAreTolerated() throws {
        let file = try LoaderFixture.loadFile("\u{FEFF}syntax = \"proto3\";\r\n// Leads A.\r\nmessage A {\r\n  int32 b = 1;\r\n}\r\n")
        XCTAssertEqual(file.messages[0].comments.leading, "Leads A.")
        XCTAssertEqual(file.messages[0].fields[0].location, SourceLocation(file: "test.proto", line: 4, column: 9))
    }

    func testColumnsCountUnicodeScalars() throws {
        // An emoji is one scalar; an "e" with a combining accent is two, so it takes two columns
        XCTAssertEqual(
            LoaderFixture.diagnostics("syntax = \"proto3\";\noption java_package = \"😀e\u{301}\" x;\n"),
            ["test.proto:2:29: expected ';' after the option, found 'x'"])
    }
}
