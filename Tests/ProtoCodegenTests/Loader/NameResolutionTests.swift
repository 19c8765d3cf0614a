// Stories about how type names resolve: protoc's scoping, searched from the innermost scope outward, with
// a leading dot meaning fully qualified.

import ProtoCodegen
import XCTest

final class NameResolutionTests: XCTestCase {
    func testRelativeNamesAreSearchedFromTheInnermostScopeOutward() throws {
        // Given a nested Id that shadows a top-level Id
        let file = try LoaderFixture.loadFile(
            """
            syntax = "proto3";
            package hl.v1;
            message Id { string value = 1; }
            message Grant {
              message Id { int64 value = 1; }
              Id inner = 1;
              .hl.v1.Id outer = 2;
              v1.Id partially_qualified = 3;
              hl.v1.Id qualified = 4;
              Grant.Id via_message = 5;
              message Scope { Id nearest = 1; }
            }
            """)
        let grant = file.messages[1]
        // Then the innermost Id wins unless the name starts higher up
        XCTAssertEqual(
            grant.fields.map(\.type),
            [.message("hl.v1.Grant.Id"), .message("hl.v1.Id"), .message("hl.v1.Id"), .message("hl.v1.Id"), .message("hl.v1.Grant.Id")])
        XCTAssertEqual(grant.nestedMessages[1].fields[0].type, .message("hl.v1.Grant.Id"))
    }

    func testAFieldNamedLikeATypeDoesNotHideTheType() throws {
        // protoc skips non-type symbols when a one-part name is used as a field type
        let message = try LoaderFixture.loadFile(
            "syntax = \"proto3\";\nmessage Status {}\nmessage Reply { int32 Status = 1; Status reply_status = 2; }\n"
        ).messages[1]
        XCTAssertEqual(message.fields[1].type, .message("Status"))
    }

    func testTheFirstComponentFoundCommitsTheLookup() {
        // Given a nested message named like the package's enum, the compound name does not look further out
        let diagnostics = LoaderFixture.diagnostics(
            """
            syntax = "proto3";
            package hl;
            enum Effect { EFFECT_UNSPECIFIED = 0; }
            message Policy {
              message Effect {}
              Effect.Kind kind = 1;
            }
            """)
        XCTAssertEqual(
            diagnostics,
            [
                "test.proto:6:3: unknown type 'Effect.Kind' in field 'kind'; it resolves to 'hl.Policy.Effect.Kind', which is "
                    + "not defined (names are searched from the innermost scope outward; write '.Effect.Kind' with the "
                    + "full package to start from the outermost scope)"
            ])
    }

    func testEnumValuesAreNotChildrenOfTheirEnum() {
        let diagnostics = LoaderFixture.diagnostics(
            "syntax = \"proto3\";\npackage p;\nenum E { A = 0; }\nmessage M { E.A x = 1; }\n")
        XCTAssertEqual(
            diagnostics,
            [
                "test.proto:4:13: unknown type 'E.A' in field 'x'; it resolves to 'p.E.A', which is not defined (names are "
                    + "searched from the innermost scope outward; write '.E.A' with the full package to start from the outermost scope)"
            ])
    }

    func testMethodTypesAreLookedUpAmongAllNamesLikeProtocDoes() {
        // A method named like its message finds itself first, as in protoc ("is not a message type")
        let diagnostics = LoaderFixture.diagnostics(
            "syntax = \"proto3\";\npackage p;\nmessage Ping {}\nservice S { rpc Ping (Ping) returns (.p.Ping); }\n")
        XCTAssertEqual(diagnostics, ["test.proto:4:23: input type 'Ping' of method 'Ping' is the method 'p.S.Ping', not a message"])
    }

    func testTypesFromImportedFilesAndTheirPublicImportsAreVisible() throws {
        // Given a file importing "api" which publicly re-exports "types"
        let sources = [
            "types.proto": "syntax = \"proto3\";\npackage shared;\nmessage Timestamp { int64 seconds = 1; }\n",
            "api.proto": "syntax = \"proto3\";\nimport public \"types.proto\";\npackage api;\nmessage Page { int32 size = 1; }\n",
        ]
        let file = try LoaderFixture.loadFile(
            "syntax = \"proto3\";\nimport \"api.proto\";\nmessage Query { api.Page page = 1; shared.Timestamp since = 2; }\n",
            others: sources)
        XCTAssertEqual(file.messages[0].fields.map(\.type), [.message("api.Page"), .message("shared.Timestamp")])
    }

    func testTypesOfFilesThatAreNotImportedStayInvisible() {
        // Given "types" is loaded (through another file) but this file does not import it, even indirectly
        let sources = [
            "types.proto": "syntax = \"proto3\";\npackage shared;\nmessage Timestamp { int64 seconds = 1; }\n",
            "api.proto": "syntax = \"proto3\";\nimport \"types.proto\";\npackage api;\nmessage Page { shared.Timestamp at = 1; }\n",
            "test.proto": "syntax = \"proto3\";\nimport \"api.proto\";\nmessage Query { shared.Timestamp since = 1; }\n",
        ]
        XCTAssertEqual(
            LoaderFixture.diagnostics(sources, files: ["test.proto"]),
            ["test.proto:3:17: unknown type 'shared.Timestamp' in field 'since'; 'shared.Timestamp' is defined in 'types.proto', which 'test.proto' does not import"])
    }

    func testMapValuesResolveLikeFieldTypes() throws {
        let message = try LoaderFixture.loadFile(
            "syntax = \"proto3\";\npackage p;\nmessage Outer { message Item {} map<string, Item> items = 1; }\n"
        ).messages[0]
        XCTAssertEqual(message.fields[0].type, .map(key: .string, value: .message("p.Outer.Item"), entry: "p.Outer.ItemsEntry"))
    }
}
