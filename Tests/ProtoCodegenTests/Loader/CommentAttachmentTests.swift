// Stories about which comments end up on which declaration, following protoc's SourceCodeInfo rules.

import ProtoCodegen
import XCTest

final class CommentAttachmentTests: XCTestCase {
    private let ledger = """
        // Copyright notice: detached, because a blank line follows it.

        // The ledger's wire format.
        syntax = "proto3"; // proto3 only

        package hl;

        // A permission a patient gives.
        // Spans two lines.
        message Grant { // opens the grant
          string grantee = 1;  // who receives access
          // When access ends.
          int64 valid_until = 2;

          int32 level = 3;
          // Trails level: a block after it that ends in a blank line.
          // Second line of it.

          // Leads note.
          //
          // After an empty comment line.
          string note = 4;

          // Detached: blank lines on both sides.

          int32 detached = 5;

          /* Block comment leading
           * scope, leading stars removed. */
          string scope = 6;
          int32 a = 7; /* same-line block */ int32 b = 8;
          /*
           * Framed block.
           */
          int32 framed = 9;
          //no space after the slashes
          int32 tight = 10;
          // Leads the oneof.
          oneof target { // trails the oneof
            // Leads clinic.
            string clinic = 11; // trails clinic
          }
          // Dangling before the closing brace: attached to nothing.
        }

        message Later
          // Between name and brace: dropped.
        {
          // Trails the brace of Later, because a blank line follows.

          int32 x = 1;
        }

        // Leads the enum.
        enum Effect {
          // Leads zero.
          EFFECT_UNSPECIFIED = 0; // trails zero
        }

        // Leads the service.
        service Ledger {
          // Leads Give.
          rpc Give (Grant) returns (Grant); // trails Give
          rpc Stream (Grant) returns (stream Grant) { // trails Stream's brace
            option deprecated = true;
          }
        }
        """

    func testCommentsAttachToTheDeclarationsProtocAttachesThemTo() throws {
        // Given the ledger file with comments in every position
        let file = try LoaderFixture.loadFile(ledger)
        let grant = file.messages[0]
        func comments(_ name: String) throws -> Comments { try LoaderFixture.field(name, of: grant).comments }

        // Then the syntax statement carries the file's header comment
        XCTAssertEqual(file.comments, Comments(leading: "The ledger's wire format.", trailing: "proto3 only"))

        // And declarations carry the block right above them and the comment after their ';' or '{'
        XCTAssertEqual(grant.comments, Comments(leading: "A permission a patient gives.\nSpans two lines.", trailing: "opens the grant"))
        XCTAssertEqual(try comments("grantee"), Comments(trailing: "who receives access"))
        XCTAssertEqual(try comments("valid_until"), Comments(leading: "When access ends."))
        XCTAssertEqual(
            try comments("level"),
            Comments(trailing: "Trails level: a block after it that ends in a blank line.\nSecond line of it."))
        XCTAssertEqual(try comments("note"), Comments(leading: "Leads note.\n\nAfter an empty comment line."))
        XCTAssertEqual(try comments("detached"), Comments.none)
        XCTAssertEqual(try comments("scope"), Comments(leading: "Block comment leading\nscope, leading stars removed."))
        XCTAssertEqual(try comments("a"), Comments.none)
        XCTAssertEqual(try comments("b"), Comments.none)
        XCTAssertEqual(try comments("framed"), Comments(leading: "Framed block."))
        XCTAssertEqual(try comments("tight"), Comments(leading: "no space after the slashes"))
        XCTAssertEqual(grant.oneofs[0].comments, Comments(leading: "Leads the oneof.", trailing: "trails the oneof"))
        XCTAssertEqual(try comments("clinic"), Comments(leading: "Leads clinic.", trailing: "trails clinic"))

        XCTAssertEqual(file.messages[1].comments, Comments(trailing: "Trails the brace of Later, because a blank line follows."))
        XCTAssertEqual(file.messages[1].fields[0].comments, Comments.none)

        XCTAssertEqual(file.enums[0].comments, Comments(leading: "Leads the enum."))
        XCTAssertEqual(file.enums[0].values[0].comments, Comments(leading: "Leads zero.", trailing: "trails zero"))

        let service = file.services[0]
        XCTAssertEqual(service.comments, Comments(leading: "Leads the service."))
        XCTAssertEqual(service.methods[0].comments, Comments(leading: "Leads Give.", trailing: "trails Give"))
        XCTAssertEqual(service.methods[1].comments, Comments(trailing: "trails Stream's brace"))
    }

    func testAFileWithoutCommentsHasNone() throws {
        let file = try LoaderFixture.loadFile("syntax = \"proto3\";\nmessage A { int32 b = 1; }\n")
        XCTAssertEqual(file.comments, Comments.none)
        XCTAssertEqual(file.messages[0].comments, Comments.none)
    }

    func testACommentBeforeTheFirstDeclarationIsItsLeadingComment() throws {
        let file = try LoaderFixture.loadFile("// About syntax.\nsyntax = \"proto3\";\n// About A.\nmessage A {}\n")
        XCTAssertEqual(file.comments.leading, "About syntax.")
        XCTAssertEqual(file.messages[0].comments.leading, "About A.")
    }
}
