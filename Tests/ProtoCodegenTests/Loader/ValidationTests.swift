// Stories about well-formed text that breaks proto3's rules: each problem reported at the offending
// token, all problems of a file together.

import ProtoCodegen
import XCTest

final class ValidationTests: XCTestCase {
    /// The diagnostics for `syntax = "proto3";` + `package hl;` followed by `body` (which starts on line 3).
    private func diagnostics(_ body: String, others: [String: String] = [:]) -> [String] {
        LoaderFixture.diagnostics("syntax = \"proto3\";\npackage hl;\n" + body, others: others)
    }

    // MARK: - Field numbers

    func testTwoFieldsSharingANumberAreBothNamed() {
        XCTAssertEqual(
            diagnostics("message Grant {\n  string grantee = 1;\n  string grantor = 1;\n}\n"),
            ["test.proto:5:20: field number 1 of 'grantor' is already used by field 'grantee' in message 'hl.Grant'"])
    }

    func testFieldNumbersMustBeInRangeAndOutsideTheImplementationRange() {
        XCTAssertEqual(
            diagnostics("message A {\n  int32 zero = 0;\n  int32 huge = 536870912;\n  int32 internal = 19500;\n  int32 top = 536870911;\n}\n"),
            [
                "test.proto:4:16: field number 0 of 'zero' is out of range: field numbers go from 1 to 536870911",
                "test.proto:5:16: field number 536870912 of 'huge' is out of range: field numbers go from 1 to 536870911",
                "test.proto:6:20: field number 19500 of 'internal' is in the range 19000 to 19999, which is reserved for the protocol buffer implementation",
            ])
    }

    func testFieldsMayNotUseReservedNumbersOrNames() {
        XCTAssertEqual(
            diagnostics(
                "message A {\n  reserved 2, 9 to 11, 100 to max;\n  reserved \"legacy\";\n  int32 ok = 1;\n  int32 two = 2;\n  int32 ten = 10;\n  int32 far = 5000;\n  int32 legacy = 12;\n}\n"),
            [
                "test.proto:7:15: field 'two' uses number 2, which message 'hl.A' reserves",
                "test.proto:8:15: field 'ten' uses number 10, which message 'hl.A' reserves",
                "test.proto:9:15: field 'far' uses number 5000, which message 'hl.A' reserves",
                "test.proto:10:9: field name 'legacy' is reserved in message 'hl.A'",
            ])
    }

    func testReservedRangesMustBeValidAndDisjoint() {
        XCTAssertEqual(
            diagnostics("message A {\n  reserved 5 to 3;\n  reserved 0;\n  reserved 10 to 20, 15;\n  reserved 30 to max, 40;\n}\n"),
            [
                "test.proto:4:12: reserved range 5 to 3 ends before it starts",
                "test.proto:5:12: reserved number 0 is out of range: field numbers go from 1 to 536870911",
                "test.proto:6:22: reserved range 15 overlaps with reserved range 10 to 20",
                "test.proto:7:23: reserved range 40 overlaps with reserved range 30 to max",
            ])
    }

    // MARK: - Names

    func testDuplicateNamesInOneScopeAreRejected() {
        XCTAssertEqual(
            diagnostics(
                "message A {\n  int32 id = 1;\n  string id = 2;\n  message Id {}\n  enum Id { ID_UNSPECIFIED = 0; }\n  message id {}\n}\nmessage A {}\n"),
            [
                "test.proto:5:10: 'id' is already defined in 'hl.A' (field on line 4)",
                "test.proto:7:8: 'Id' is already defined in 'hl.A' (message on line 6)",
                "test.proto:8:11: 'id' is already defined in 'hl.A' (field on line 4)",
                "test.proto:10:9: 'A' is already defined in 'hl' (message on line 3)",
            ])
    }

    func testEnumValuesAreSiblingsOfTheirEnumLikeInCPlusPlus() {
        XCTAssertEqual(
            diagnostics("enum Color { UNSPECIFIED = 0; RED = 1; }\nenum Mood { NONE = 0; RED = 1; }\nmessage RED {}\n"),
            [
                "test.proto:4:23: 'RED' is already defined in 'hl' (enum value on line 3); enum values are siblings of their "
                    + "enum (C++ scoping), so 'RED' must be unique in 'hl', not just within enum 'Mood'",
                "test.proto:5:9: 'RED' is already defined in 'hl' (enum value on line 3); enum values are siblings of their "
                    + "enum (C++ scoping), so 'RED' must be unique in 'hl', not just within enum 'Color'",
            ])
        XCTAssertEqual(
            diagnostics("enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_RED = 2; }\n"),
            ["test.proto:3:52: enum value 'COLOR_RED' is already defined in enum 'hl.Color' (line 3)"])
    }

    func testAMapEntryNameMayNotCollideWithANestedMessage() {
        XCTAssertEqual(
            diagnostics("message A {\n  message LabelsEntry {}\n  map<string, string> labels = 1;\n}\n"),
            ["test.proto:5:23: map field 'labels' needs a nested message named 'LabelsEntry', which is already defined in 'hl.A' (message on line 4)"])
    }

    func testFieldNamesMustStayDistinctInJSON() {
        XCTAssertEqual(
            diagnostics("message A {\n  int32 valid_until = 1;\n  int32 validUntil = 2;\n}\n"),
            [
                "test.proto:5:9: field name 'validUntil' conflicts with field 'valid_until' in message 'hl.A': proto3 requires "
                    + "field names to differ after lowercasing and removing underscores, or their JSON names would clash"
            ])
    }

    func testAPackageNameCannotAlsoBeAMessage() {
        XCTAssertEqual(
            LoaderFixture.diagnostics(
                ["a.proto": "syntax = \"proto3\";\npackage hl.v1;\n", "b.proto": "syntax = \"proto3\";\npackage hl;\nimport \"a.proto\";\nmessage v1 {}\n"],
                files: ["b.proto"]),
            ["b.proto:4:9: 'v1' is already defined in 'hl' as a package"])
    }

    // MARK: - Types

    func testUnknownTypesAreNamedWithTheirField() {
        XCTAssertEqual(
            diagnostics("message A {\n  Foo bar = 1;\n  map<string, Missing> m = 2;\n  repeated .hl.Gone g = 3;\n}\n"),
            [
                "test.proto:4:3: unknown type 'Foo' in field 'bar'",
                "test.proto:5:15: unknown type 'Missing' in field 'm'",
                "test.proto:6:12: unknown type '.hl.Gone' in field 'g'",
            ])
    }

    func testAFieldTypeMustNameAMessageOrEnum() {
        XCTAssertEqual(
            diagnostics("service Svc {}\nmessage A { hl.Svc s = 1; }\n"),
            ["test.proto:4:13: type 'hl.Svc' of field 's' names the service 'hl.Svc', not a message or enum"])
    }

    func testMethodsTakeAndReturnMessagesOnly() {
        XCTAssertEqual(
            diagnostics(
                "enum Color { COLOR_UNSPECIFIED = 0; }\nmessage Paint {}\nservice Painter {\n  rpc Mix (Color) returns (Paint);\n  rpc Pick (Paint) returns (string);\n  rpc Lose (Paint) returns (Nowhere);\n}\n"),
            [
                "test.proto:6:12: input type 'Color' of method 'Mix' is the enum 'hl.Color', not a message",
                "test.proto:7:29: output type 'string' of method 'Pick' is a scalar type; methods take and return messages",
                "test.proto:8:29: unknown type 'Nowhere' in method 'Lose'",
            ])
    }

    // MARK: - Maps, oneofs and labels

    func testMapKeysMustBeIntegralBoolOrString() {
        XCTAssertEqual(
            diagnostics(
                "enum E { E_ZERO = 0; }\nmessage M {\n  map<float, int32> a = 1;\n  map<double, int32> b = 2;\n  map<bytes, int32> c = 3;\n  map<M, int32> d = 4;\n  map<E, int32> e = 5;\n  map<sfixed64, M> ok = 6;\n}\n"),
            [
                "test.proto:5:7: invalid map key type 'float' in field 'a': keys must be an integral type, bool or string",
                "test.proto:6:7: invalid map key type 'double' in field 'b': keys must be an integral type, bool or string",
                "test.proto:7:7: invalid map key type 'bytes' in field 'c': keys must be an integral type, bool or string",
                "test.proto:8:7: invalid map key type 'M' in field 'd': messages cannot be map keys; use an integral type, bool or string",
                "test.proto:9:7: invalid map key type 'E' in field 'e': enums cannot be map keys; use an integral type, bool or string",
            ])
    }

    func testMapFieldsCannotHaveLabelsOrLiveInOneofs() {
        XCTAssertEqual(
            diagnostics("message M {\n  repeated map<string, int32> a = 1;\n  oneof choice {\n    map<string, int32> b = 2;\n  }\n}\n"),
            [
                "test.proto:4:3: map field 'a' must not have a label ('repeated'): map fields are already repeated",
                "test.proto:6:5: map field 'b' is not allowed in oneof 'choice'",
            ])
    }

    func testOneofFieldsCannotHaveLabelsAndOneofsCannotBeEmpty() {
        XCTAssertEqual(
            diagnostics("message M {\n  oneof choice {\n    repeated int32 a = 1;\n    optional int32 b = 2;\n  }\n  oneof nothing {}\n}\n"),
            [
                "test.proto:5:5: field 'a' in oneof 'choice' must not have a label ('repeated')",
                "test.proto:6:5: field 'b' in oneof 'choice' must not have a label ('optional')",
                "test.proto:8:9: oneof 'nothing' must have at least one field",
            ])
    }

    func testProto2OnlyFeaturesAreRejected() {
        XCTAssertEqual(
            diagnostics("message M {\n  required int32 a = 1;\n  int32 b = 2 [default = 5];\n  extensions 100 to 199;\n}\n"),
            [
                "test.proto:4:3: required fields are not allowed in proto3",
                "test.proto:5:16: explicit default values are not allowed in proto3",
                "test.proto:6:3: extension ranges are not allowed in proto3",
            ])
    }

    func testPackedAppliesOnlyToRepeatedPackableFields() {
        XCTAssertEqual(
            diagnostics("message M {\n  int32 a = 1 [packed = true];\n  repeated string b = 2 [packed = true];\n  repeated M c = 3 [packed = false];\n  repeated int32 ok = 4 [packed = true];\n}\n"),
            [
                "test.proto:4:16: option 'packed' applies only to repeated fields of numeric, bool or enum type, and 'a' is not one",
                "test.proto:5:26: option 'packed' applies only to repeated fields of numeric, bool or enum type, and 'b' is not one",
                "test.proto:6:21: option 'packed' applies only to repeated fields of numeric, bool or enum type, and 'c' is not one",
            ])
    }

    // MARK: - Enums

    func testTheFirstEnumValueMustBeZero() {
        XCTAssertEqual(
            diagnostics("enum Effect {\n  EFFECT_PERMIT = 1;\n  EFFECT_UNSPECIFIED = 0;\n}\n"),
            ["test.proto:4:19: the first value of enum 'Effect' must be zero in proto3, but 'EFFECT_PERMIT' is 1"])
    }

    func testEnumsNeedValues() {
        XCTAssertEqual(diagnostics("enum Nothing {}\n"), ["test.proto:3:6: enum 'Nothing' must have at least one value"])
    }

    func testDuplicateEnumNumbersNeedAllowAlias() {
        XCTAssertEqual(
            diagnostics("enum Effect {\n  EFFECT_UNSPECIFIED = 0;\n  EFFECT_ALLOW = 1;\n  EFFECT_PERMIT = 1;\n}\n"),
            [
                "test.proto:6:19: enum value 'EFFECT_PERMIT' uses number 1, which 'EFFECT_ALLOW' already uses; set "
                    + "'option allow_alias = true;' in enum 'Effect' if it is meant as an alias"
            ])
        XCTAssertEqual(
            diagnostics("enum Effect {\n  option allow_alias = true;\n  EFFECT_UNSPECIFIED = 0;\n  EFFECT_ALLOW = 1;\n}\n"),
            ["test.proto:4:10: enum 'Effect' sets allow_alias, but no two of its values share a number"])
    }

    func testEnumNumbersMustFitInt32AndAvoidReservations() {
        XCTAssertEqual(
            diagnostics(
                "enum E {\n  E_ZERO = 0;\n  E_BIG = 2147483648;\n  E_SMALL = -2147483649;\n  reserved 5, 7 to max;\n  reserved \"E_OLD\";\n  E_FIVE = 5;\n  E_OLD = 6;\n  E_MAX = 2147483647;\n}\n"),
            [
                "test.proto:5:11: number 2147483648 of enum value 'E_BIG' is out of range for int32",
                "test.proto:6:13: number -2147483649 of enum value 'E_SMALL' is out of range for int32",
                "test.proto:9:12: enum value 'E_FIVE' uses number 5, which enum 'E' reserves",
                "test.proto:10:3: enum value name 'E_OLD' is reserved in enum 'E'",
                "test.proto:11:11: enum value 'E_MAX' uses number 2147483647, which enum 'E' reserves",
            ])
    }

    func testEnumValueNamesMustStayDistinctWithoutTheEnumPrefix() {
        XCTAssertEqual(
            diagnostics(
                "enum Effect {\n  option allow_alias = true;\n  EFFECT_UNSPECIFIED = 0;\n  EFFECT_PERMIT = 1;\n  PERMIT = 2;\n  Permit_ = 1;\n}\n"),
            [
                // An alias with the same number is fine; a different number is not.
                "test.proto:7:3: enum value 'PERMIT' clashes with 'EFFECT_PERMIT' once the enum name prefix is stripped and "
                    + "case is ignored (both become 'Permit'); rename one, or give both the same number to make an alias"
            ])
    }

    // MARK: - Options

    func testBuiltInOptionsMustExistAndTakeTheRightValue() {
        XCTAssertEqual(
            diagnostics(
                """
                option java_pakage = "typo";
                option optimize_for = FAST;
                option go_package = 5;
                message M {
                  option map_entry = true;
                  option deprecated = "yes";
                  int32 a = 1 [json_name = 7, deprecated = true, deprecated = false];
                  int32 b = 2 [lazy = maybe, (custom.anything) = { x: 1 }];
                }
                enum E { option allow_alias = 1; E_ZERO = 0 [json_name = "zero"]; }
                service S { option idempotency_level = IDEMPOTENT; rpc X (M) returns (M) { option idempotency_level = NEVER; } }

                """),
            [
                "test.proto:3:8: unknown file option 'java_pakage'; custom options are written in parentheses, like '(my.option)'",
                "test.proto:4:23: option 'optimize_for' must be one of SPEED, CODE_SIZE, LITE_RUNTIME, found 'FAST'",
                "test.proto:5:21: option 'go_package' must be a string, found '5'",
                "test.proto:7:10: option 'map_entry' must not be set by hand; declare a map<K, V> field instead",
                "test.proto:8:23: option 'deprecated' must be true or false, found string \"yes\"",
                "test.proto:9:28: option 'json_name' must be a string, found '7'",
                "test.proto:9:50: option 'deprecated' is set more than once",
                "test.proto:10:23: option 'lazy' must be true or false, found 'maybe'",
                "test.proto:12:31: option 'allow_alias' must be true or false, found '1'",
                "test.proto:12:46: unknown enum value option 'json_name'; custom options are written in parentheses, like '(my.option)'",
                "test.proto:13:20: unknown service option 'idempotency_level'; custom options are written in parentheses, like '(my.option)'",
                "test.proto:13:103: option 'idempotency_level' must be one of IDEMPOTENCY_UNKNOWN, NO_SIDE_EFFECTS, IDEMPOTENT, found 'NEVER'",
            ])
    }

    func testAllProblemsOfAFileAreReportedTogetherInSourceOrder() {
        XCTAssertEqual(
            diagnostics("message B { Missing m = 1; int32 n = 1; }\nenum E { E_ONE = 1; }\n"),
            [
                "test.proto:3:13: unknown type 'Missing' in field 'm'",
                "test.proto:3:38: field number 1 of 'n' is already used by field 'm' in message 'hl.B'",
                "test.proto:4:18: the first value of enum 'E' must be zero in proto3, but 'E_ONE' is 1",
            ])
    }

    func testTheLoadErrorPrintsOneDiagnosticPerLine() {
        do {
            _ = try ProtoLoader.load(sources: ["a.proto": "syntax = \"proto3\";\nmessage A { B b = 1; C c = 2; }\n"], files: ["a.proto"])
            XCTFail("expected the load to fail")
        } catch {
            XCTAssertEqual(
                error.description,
                "a.proto:2:13: unknown type 'B' in field 'b'\na.proto:2:22: unknown type 'C' in field 'c'")
            XCTAssertEqual(error.diagnostics[0].location, SourceLocation(file: "a.proto", line: 2, column: 13))
            XCTAssertEqual(error.diagnostics[0].message, "unknown type 'B' in field 'b'")
        }
    }
}
