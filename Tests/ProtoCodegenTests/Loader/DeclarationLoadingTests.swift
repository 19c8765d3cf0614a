// Stories about what each proto3 declaration becomes in the resolved model.

import ProtoCodegen
import XCTest

final class DeclarationLoadingTests: XCTestCase {
    func testAFileWithPackageImportsAndOptionsKeepsThemAsWritten() throws {
        // Given a ledger file that imports a shared file three ways and sets file options
        let common = "syntax = \"proto3\";\npackage healthledger.common;\nmessage Id { string value = 1; }\n"
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package healthledger.v1;
            import "common/id.proto";
            import public "common/public.proto";
            import weak "common/weak.proto";
            option java_package = "org.healthledger.v1";
            option java_multiple_files = true;
            option optimize_for = SPEED;
            option swift_prefix = "HL";
            option (custom.marker) = true;
            """,
            others: ["common/id.proto": common, "common/public.proto": common.replacingOccurrences(of: "Id", with: "Pub"),
                     "common/weak.proto": common.replacingOccurrences(of: "Id", with: "Weak")])

        // Then the package, the imports in order and the built-in options are recorded
        XCTAssertEqual(file.package, "healthledger.v1")
        XCTAssertEqual(file.dependencies, ["common/id.proto", "common/public.proto", "common/weak.proto"])
        XCTAssertEqual(file.publicDependencies, [1])
        XCTAssertEqual(file.weakDependencies, [2])
        XCTAssertEqual(
            file.options,
            [
                FileOption(name: "java_package", value: "org.healthledger.v1", isString: true),
                FileOption(name: "java_multiple_files", value: "true", isString: false),
                FileOption(name: "optimize_for", value: "SPEED", isString: false),
                FileOption(name: "swift_prefix", value: "HL", isString: true),
            ])
        // And the custom option is accepted but not recorded
        XCTAssertNil(file.option("(custom.marker)"))
        XCTAssertEqual(file.option("swift_prefix")?.value, "HL")
    }

    func testAFileWithoutAPackageHasAnEmptyPackageAndTopLevelNames() throws {
        let file = try LoaderFixture.loadFile("syntax = \"proto3\";\nmessage Note { Note reply = 1; }\n")
        XCTAssertEqual(file.package, "")
        XCTAssertEqual(file.messages[0].fullName, "Note")
        XCTAssertEqual(file.messages[0].fields[0].type, .message("Note"))
    }

    func testEveryScalarTypeResolvesToItsScalar() throws {
        // Given a message with one field of each of the 15 scalar types
        let names = ScalarType.allCases.map(\.rawValue)
        let fields = names.enumerated().map { "  \($1) f_\($1) = \($0 + 1);" }.joined(separator: "\n")
        let file = try LoaderFixture.loadFile("syntax = \"proto3\";\nmessage AllScalars {\n\(fields)\n}\n")

        // Then each field is a singular scalar of that type with implicit presence
        let message = file.messages[0]
        XCTAssertEqual(message.fields.map(\.type), ScalarType.allCases.map { .scalar($0) })
        XCTAssertTrue(message.fields.allSatisfy { $0.label == .optional && !$0.isProto3Optional && !$0.isPacked })
        XCTAssertEqual(message.fields.map(\.number), Array(1...15))
    }

    func testNestedMessagesAndEnumsGetQualifiedNamesAndDeclarationOrder() throws {
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package hl;
            message Grant {
              message Scope { enum Kind { KIND_UNSPECIFIED = 0; } Kind kind = 1; }
              enum Effect { EFFECT_UNSPECIFIED = 0; EFFECT_PERMIT = 1; }
              message Window { int64 start = 1; }
              Scope scope = 1;
              Effect effect = 2;
            }
            """)
        let grant = file.messages[0]
        XCTAssertEqual(grant.nestedMessages.map(\.fullName), ["hl.Grant.Scope", "hl.Grant.Window"])
        XCTAssertEqual(grant.nestedEnums.map(\.fullName), ["hl.Grant.Effect"])
        XCTAssertEqual(grant.nestedMessages[0].nestedEnums[0].fullName, "hl.Grant.Scope.Kind")
        XCTAssertEqual(grant.nestedMessages[0].fields[0].type, .enumeration("hl.Grant.Scope.Kind"))
        XCTAssertEqual(grant.fields.map(\.type), [.message("hl.Grant.Scope"), .enumeration("hl.Grant.Effect")])
        XCTAssertEqual(grant.location, SourceLocation(file: "test.proto", line: 3, column: 9))
    }

    func testRepeatedNumericAndEnumFieldsArePackedUnlessTurnedOff() throws {
        // Given repeated fields of packable and non-packable types, some with an explicit packed option
        let message = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            enum Color { COLOR_UNSPECIFIED = 0; }
            message Sample {
              repeated int32 numbers = 1;
              repeated Color colors = 2;
              repeated double unpacked = 3 [packed = false];
              repeated sint64 explicit = 4 [packed = true];
              repeated string names = 5;
              repeated bytes blobs = 6;
              repeated Sample children = 7;
            }
            """
        ).messages[0]

        // Then numeric and enum fields are packed unless `packed = false`, and the explicit option is remembered
        XCTAssertEqual(message.fields.map(\.isPacked), [true, true, false, true, false, false, false])
        XCTAssertEqual(message.fields.map(\.explicitPackedOption), [nil, nil, false, true, nil, nil, nil])
        XCTAssertTrue(message.fields.allSatisfy { $0.label == .repeated })
    }

    func testAMapFieldCreatesItsEntryMessageWhereTheFieldIsDeclared() throws {
        // Given maps declared before and after a nested message (protoc inserts each entry at its field)
        let message = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package hl;
            message Consent {
              map<string, int32> access_counts = 1;
              message Scope { string name = 1; }
              map<int64, Scope> scopes_by_id = 2;
            }
            """
        ).messages[0]

        // Then the field is a repeated map pointing at the synthetic entry
        let counts = try LoaderFixture.field("access_counts", of: message)
        XCTAssertEqual(counts.label, .repeated)
        XCTAssertFalse(counts.isPacked)
        XCTAssertEqual(counts.type, .map(key: .string, value: .scalar(.int32), entry: "hl.Consent.AccessCountsEntry"))
        XCTAssertEqual(
            try LoaderFixture.field("scopes_by_id", of: message).type,
            .map(key: .int64, value: .message("hl.Consent.Scope"), entry: "hl.Consent.ScopesByIdEntry"))

        // And the entries sit among the nested messages in declaration order, with key = 1 and value = 2
        XCTAssertEqual(message.nestedMessages.map(\.name), ["AccessCountsEntry", "Scope", "ScopesByIdEntry"])
        let entry = message.nestedMessages[2]
        XCTAssertTrue(entry.isMapEntry)
        XCTAssertFalse(message.nestedMessages[1].isMapEntry)
        XCTAssertEqual(entry.fullName, "hl.Consent.ScopesByIdEntry")
        XCTAssertEqual(entry.fields.map(\.name), ["key", "value"])
        XCTAssertEqual(entry.fields.map(\.number), [1, 2])
        XCTAssertEqual(entry.fields.map(\.label), [.optional, .optional])
        XCTAssertEqual(entry.fields.map(\.type), [.scalar(.int64), .message("hl.Consent.Scope")])
        XCTAssertEqual(entry.fields.map(\.jsonName), ["key", "value"])
    }

    func testOneofFieldsPointAtTheirOneofAndKeepFieldOrder() throws {
        let message = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            message Event {
              string id = 1;
              oneof payload {
                option (audit.sensitive) = true;
                string text = 2;
                Event nested = 3 [deprecated = true];
              }
              int64 at = 4;
              oneof origin { string device = 5; }
            }
            """
        ).messages[0]
        XCTAssertEqual(message.oneofs.map(\.name), ["payload", "origin"])
        XCTAssertEqual(message.fields.map(\.name), ["id", "text", "nested", "at", "device"])
        XCTAssertEqual(message.fields.map(\.oneofIndex), [nil, 0, 0, nil, 1])
        XCTAssertEqual(message.fields.map(\.label), [.optional, .optional, .optional, .optional, .optional])
        XCTAssertTrue(try LoaderFixture.field("nested", of: message).isDeprecated)
    }

    func testProto3OptionalFieldsHaveExplicitPresenceButNoRealOneof() throws {
        let message = try LoaderFixture.loadFile(
            "syntax = \"proto3\";\nmessage Profile { optional string nickname = 1; string name = 2; optional Profile guardian = 3; }\n"
        ).messages[0]
        XCTAssertEqual(message.fields.map(\.isProto3Optional), [true, false, true])
        XCTAssertEqual(message.fields.map(\.oneofIndex), [nil, nil, nil])
        XCTAssertEqual(message.fields.map(\.label), [.optional, .optional, .optional])
        XCTAssertTrue(message.oneofs.isEmpty)
    }

    func testReservedNumbersAndNamesAreRecorded() throws {
        let message = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            message Record {
              reserved 2, 15, 9 to 11, 40 to max;
              reserved "foo", "bar";
              string id = 1;
            }
            """
        ).messages[0]
        XCTAssertEqual(message.reservedRanges, [2...2, 15...15, 9...11, 40...536_870_911])
        XCTAssertEqual(message.reservedNames, ["foo", "bar"])
    }

    func testEnumsKeepValuesAliasesNegativeNumbersAndReservations() throws {
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package hl;
            enum Status {
              option allow_alias = true;
              STATUS_UNSPECIFIED = 0;
              STATUS_ACTIVE = 1;
              STATUS_ENABLED = 1 [deprecated = true];
              STATUS_BELOW = -3;
              reserved 5, 10 to max, -20 to -10;
              reserved "STATUS_OLD";
            }
            """)
        let status = file.enums[0]
        XCTAssertEqual(status.fullName, "hl.Status")
        XCTAssertTrue(status.allowAlias)
        XCTAssertEqual(status.values.map(\.name), ["STATUS_UNSPECIFIED", "STATUS_ACTIVE", "STATUS_ENABLED", "STATUS_BELOW"])
        XCTAssertEqual(status.values.map(\.number), [0, 1, 1, -3])
        XCTAssertEqual(status.reservedRanges, [5...5, 10...Int32.max, -20...(-10)])
        XCTAssertEqual(status.reservedNames, ["STATUS_OLD"])
        XCTAssertEqual(status.values[3].location, SourceLocation(file: "test.proto", line: 8, column: 3))
    }

    func testServicesDescribeAllFourStreamingShapes() throws {
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package hl;
            message Req {}
            message Resp {}
            service Ledger {
              option deprecated = true;
              rpc Grant (Req) returns (Resp);
              rpc AuditStream (Req) returns (stream Resp) { option deprecated = true; }
              rpc Upload (stream Req) returns (Resp) {}
              rpc Chat (stream .hl.Req) returns (stream hl.Resp) { option idempotency_level = IDEMPOTENT; };
              ;
            }
            """)
        let service = file.services[0]
        XCTAssertEqual(service.fullName, "hl.Ledger")
        XCTAssertEqual(service.methods.map(\.name), ["Grant", "AuditStream", "Upload", "Chat"])
        XCTAssertEqual(service.methods.map(\.clientStreaming), [false, false, true, true])
        XCTAssertEqual(service.methods.map(\.serverStreaming), [false, true, false, true])
        XCTAssertTrue(service.methods.allSatisfy { $0.inputType == "hl.Req" && $0.outputType == "hl.Resp" })
    }

    func testExtendBlocksAndEmptyStatementsAreAcceptedAndLeaveNoTrace() throws {
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            ;
            package hl;;
            message Base { ; int32 id = 1; ; extend Other { string note = 100; } }
            extend google.protobuf.FieldOptions { optional string weird = 1; repeated int32 tags = 50001 [packed = false]; }
            extend Base {}
            enum E { ; E_ZERO = 0; ; }
            service S { ; }
            """)
        XCTAssertEqual(file.messages.map(\.name), ["Base"])
        XCTAssertEqual(file.messages[0].fields.map(\.name), ["id"])
        XCTAssertEqual(file.enums[0].values.map(\.name), ["E_ZERO"])
        XCTAssertEqual(file.services[0].methods, [])
    }

    func testJSONNamesFollowProtocUnlessGivenExplicitly() throws {
        let message = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            message Names {
              string valid_until = 1;
              string _private = 2;
              string trailing_ = 3;
              string double__under = 4;
              string CamelCase = 5;
              string x2_y = 6;
              string custom = 7 [json_name = "@custom"];
            }
            """
        ).messages[0]
        XCTAssertEqual(
            message.fields.map(\.jsonName),
            ["validUntil", "Private", "trailing", "doubleUnder", "CamelCase", "x2Y", "@custom"])
        XCTAssertEqual(message.fields.map(\.hasExplicitJSONName), [false, false, false, false, false, false, true])
    }

    func testDeprecatedOptionsMarkMessagesAndFields() throws {
        let message = try LoaderFixture.loadFile(
            "syntax = \"proto3\";\nmessage Old { option deprecated = true; int32 a = 1 [deprecated = true]; int32 b = 2 [deprecated = false]; }\n"
        ).messages[0]
        XCTAssertTrue(message.isDeprecated)
        XCTAssertEqual(message.fields.map(\.isDeprecated), [true, false])
    }

    func testKeywordsCanBeUsedAsNames() throws {
        // .proto keywords are contextual: these names are legal, as protoc agrees
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package service.rpc;
            message message { int32 optional = 1; int32 map = 2; string package = 3; enum enum { syntax = 0; } }
            message stream { message returns {} returns value = 1; }
            message returns {}
            service Svc { rpc rpc (message) returns (returns); }
            """)
        XCTAssertEqual(file.messages[0].fields.map(\.name), ["optional", "map", "package"])
        XCTAssertEqual(file.messages[0].nestedEnums[0].values[0].name, "syntax")
        XCTAssertEqual(file.messages[1].fields[0].type, .message("service.rpc.stream.returns"))
        XCTAssertEqual(file.services[0].methods[0].inputType, "service.rpc.message")
        XCTAssertEqual(file.services[0].methods[0].outputType, "service.rpc.returns")
    }

    func testFieldsRecordWhereTheirNameIsWritten() throws {
        let message = try LoaderFixture.loadFile("syntax = \"proto3\";\n\nmessage A {\n    repeated int32 values = 7;\n}\n").messages[0]
        XCTAssertEqual(message.fields[0].location, SourceLocation(file: "test.proto", line: 4, column: 20))
        XCTAssertEqual(message.fields[0].location.description, "test.proto:4:20")
    }
}
