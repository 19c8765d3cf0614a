// Stories about text that is not valid proto3: each reported once, at the offending token, in plain words.

import ProtoCodegen
import XCTest

final class SyntaxErrorTests: XCTestCase {
    /// The diagnostics for a file whose first line is `syntax = "proto3";` followed by `body`.
    private func diagnostics(_ body: String) -> [String] {
        LoaderFixture.diagnostics("syntax = \"proto3\";\n" + body)
    }

    func testAMissingSemicolonNamesWhatWasFoundInstead() {
        XCTAssertEqual(
            diagnostics("message Grant {\n  int32 a = 1\n  int32 b = 2;\n}\n"),
            ["test.proto:4:3: expected ';' after field declaration, found 'int32'"])
    }

    func testOnlyTheFirstSyntaxErrorOfAFileIsReported() {
        XCTAssertEqual(
            diagnostics("message A { int32 a = 1 }\nmessage B { int32 = 2; }\n"),
            ["test.proto:2:25: expected ';' after field declaration, found '}'"])
    }

    func testProto2AndEditionsAreRejected() {
        XCTAssertEqual(
            LoaderFixture.diagnostics("syntax = \"proto2\";\nmessage A { required int32 a = 1; }\n"),
            ["test.proto:1:10: only proto3 is supported, but this file declares syntax \"proto2\""])
        XCTAssertEqual(
            LoaderFixture.diagnostics("// Header.\nedition = \"2023\";\n"),
            ["test.proto:2:11: only proto3 is supported, but this file declares edition \"2023\""])
    }

    func testASyntaxStatementIsRequired() {
        XCTAssertEqual(
            LoaderFixture.diagnostics("// No syntax line.\npackage hl;\n"),
            ["test.proto:2:1: missing 'syntax = \"proto3\";' as the first statement: only proto3 is supported"])
        XCTAssertEqual(
            LoaderFixture.diagnostics(""),
            ["test.proto:1:1: missing 'syntax = \"proto3\";' as the first statement: only proto3 is supported"])
        XCTAssertEqual(
            diagnostics("package hl;\nsyntax = \"proto3\";\n"),
            ["test.proto:3:1: expected a top-level declaration (message, enum, service, extend, import, package or option), found 'syntax'"])
    }

    func testUnreadableLiteralsAreReportedWhereTheyGoWrong() {
        XCTAssertEqual(
            diagnostics("option java_package = \"unterminated;\nmessage A {}\n"),
            ["test.proto:2:37: string literals cannot span lines"])
        XCTAssertEqual(
            diagnostics("option java_package = \"bad \\q escape\";\n"),
            ["test.proto:2:28: invalid escape sequence '\\q' in string literal"])
        XCTAssertEqual(
            diagnostics("option java_package = \"\\xZZ\";\n"),
            ["test.proto:2:24: '\\x' must be followed by one or two hex digits"])
        XCTAssertEqual(
            diagnostics("option java_package = \"\\u12\";\n"),
            ["test.proto:2:24: '\\u' must be followed by 4 hex digits"])
        XCTAssertEqual(
            diagnostics("option java_package = \"\\U00110000\";\n"),
            ["test.proto:2:24: '\\U00110000' is not a valid Unicode code point"])
        XCTAssertEqual(
            diagnostics("option java_package = \"\\777\";\n"),
            ["test.proto:2:24: octal escape '\\777' is larger than one byte"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = 1abc; }\n"),
            ["test.proto:2:24: need a space between the number '1' and the identifier after it"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = 08; }\n"),
            ["test.proto:2:23: numbers starting with a leading zero must be in octal, found '08'"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = 0x; }\n"),
            ["test.proto:2:23: '0x' must be followed by hex digits"])
        XCTAssertEqual(
            diagnostics("option (x) = 1e;\n"),
            ["test.proto:2:14: 'e' must be followed by an exponent"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = 99999999999999999999; }\n"),
            ["test.proto:2:23: the integer '99999999999999999999' is too large"])
        XCTAssertEqual(diagnostics("message A {}\n\u{01}\n"), ["test.proto:3:1: invalid control character U+1"])
    }

    func testBrokenBlockCommentsAreReported() {
        XCTAssertEqual(
            diagnostics("message A {}\n  /* never closed\n"),
            ["test.proto:3:3: the block comment starting here is not closed with '*/'"])
        XCTAssertEqual(
            diagnostics("/* outer /* inner */\nmessage A {}\n"),
            ["test.proto:2:10: '/*' inside a block comment; block comments cannot be nested"])
    }

    func testStatementsInTheWrongPlaceAreRejected() {
        XCTAssertEqual(
            diagnostics("fruit Apple {}\n"),
            ["test.proto:2:1: expected a top-level declaration (message, enum, service, extend, import, package or option), found 'fruit'"])
        XCTAssertEqual(
            diagnostics("message A {}\n@\n"),
            ["test.proto:3:1: expected a top-level declaration (message, enum, service, extend, import, package or option), found '@'"])
        XCTAssertEqual(
            diagnostics("service S { message X {} }\n"),
            ["test.proto:2:13: expected 'rpc', 'option' or '}' in service 'S', found 'message'"])
        XCTAssertEqual(
            diagnostics("message A {} service S { rpc X (A) returns (A) { int32 a = 1; } }\n"),
            ["test.proto:2:50: expected 'option' or '}' in method 'X', found 'int32'"])
    }

    func testUnclosedBlocksAreReportedAtTheEndOfTheFile() {
        XCTAssertEqual(
            diagnostics("message A {\n  int32 a = 1;\n"),
            ["test.proto:4:1: expected '}' to close message 'A', found end of file"])
        XCTAssertEqual(
            diagnostics("enum E { E_ZERO = 0;"),
            ["test.proto:2:21: expected '}' to close enum 'E', found end of file"])
    }

    func testMalformedDeclarationsNameWhatWasExpected() {
        XCTAssertEqual(
            diagnostics("message A { int32 a; }\n"), ["test.proto:2:20: expected '=' after the field name 'a', found ';'"])
        XCTAssertEqual(
            diagnostics("message A { int32 = 1; }\n"), ["test.proto:2:19: expected the field name, found '='"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = -1; }\n"), ["test.proto:2:23: expected the field number of 'a', found '-'"])
        XCTAssertEqual(
            diagnostics("message A { map<string> m = 1; }\n"), ["test.proto:2:23: expected ',' after the map key type, found '>'"])
        XCTAssertEqual(
            diagnostics("message A { reserved 1, \"foo\"; }\n"), ["test.proto:2:25: expected a number, found string \"foo\""])
        XCTAssertEqual(
            diagnostics("message A { reserved foo; }\n"),
            ["test.proto:2:22: expected a number, a range or a quoted name after 'reserved', found 'foo'"])
        XCTAssertEqual(
            diagnostics("message A { int32 a = 1 [deprecated]; }\n"),
            ["test.proto:2:36: expected '=' after the option name, found ']'"])
        XCTAssertEqual(
            diagnostics("message A {} service S { rpc X (A) (A); }\n"),
            ["test.proto:2:36: expected 'returns' after the request type, found '('"])
        XCTAssertEqual(
            diagnostics("message A { optional group G = 1 {} }\n"),
            ["test.proto:2:22: groups are not supported in proto3; declare a nested message and a field instead"])
        XCTAssertEqual(
            diagnostics("package a;\npackage b;\n"), ["test.proto:3:1: the package is already declared on line 2"])
        XCTAssertEqual(
            diagnostics("import hl;\n"), ["test.proto:2:8: expected the imported file name as a string, found 'hl'"])
        XCTAssertEqual(
            diagnostics("option (x) = -\"text\";\n"), ["test.proto:2:15: expected a number after '-', found string \"text\""])
    }
}
