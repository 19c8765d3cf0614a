// Stories about loading files through imports: transitively, once each, dependencies first.

import ProtoCodegen
import XCTest

final class ImportLoadingTests: XCTestCase {
    private let sources = [
        "ledger.proto": "syntax = \"proto3\";\nimport \"policy.proto\";\nimport \"identity.proto\";\nmessage Ledger { Policy p = 1; Person who = 2; }\n",
        "policy.proto": "syntax = \"proto3\";\nimport \"identity.proto\";\nmessage Policy { Person owner = 1; }\n",
        "identity.proto": "syntax = \"proto3\";\nmessage Person { string name = 1; }\n",
        "audit.proto": "syntax = \"proto3\";\nimport \"identity.proto\";\nmessage Audit { Person actor = 1; }\n",
    ]

    func testImportsAreLoadedTransitivelyOnceEachWithDependenciesFirst() throws {
        // When the ledger and audit files are requested
        let model = try ProtoLoader.load(sources: sources, files: ["ledger.proto", "audit.proto"])

        // Then every file appears once, after everything it imports
        XCTAssertEqual(model.files.map(\.path), ["identity.proto", "policy.proto", "ledger.proto", "audit.proto"])
        // And only the requested files are to be generated, in the order given
        XCTAssertEqual(model.filesToGenerate, ["ledger.proto", "audit.proto"])
        XCTAssertEqual(model.file("ledger.proto")?.dependencies, ["policy.proto", "identity.proto"])
    }

    func testRequestingAFileTwiceLoadsItOnce() throws {
        let model = try ProtoLoader.load(sources: sources, files: ["identity.proto", "identity.proto"])
        XCTAssertEqual(model.files.map(\.path), ["identity.proto"])
        XCTAssertEqual(model.filesToGenerate, ["identity.proto"])
    }

    func testAMissingImportIsReportedAtTheImportLine() {
        let diagnostics = LoaderFixture.diagnostics(
            "syntax = \"proto3\";\npackage hl;\nimport \"missing/thing.proto\";\nmessage A {}\n")
        XCTAssertEqual(diagnostics, ["test.proto:3:8: file not found: missing/thing.proto"])
    }

    func testAMissingRequestedFileIsReportedAgainstTheFileItself() {
        XCTAssertEqual(
            LoaderFixture.diagnostics([:], files: ["nowhere.proto"]), ["nowhere.proto: file not found: nowhere.proto"])
    }

    func testAnImportCycleIsReportedWhereItCloses() {
        let sources = [
            "a.proto": "syntax = \"proto3\";\nimport \"b.proto\";\n",
            "b.proto": "syntax = \"proto3\";\nimport \"c.proto\";\n",
            "c.proto": "syntax = \"proto3\";\n\nimport \"a.proto\";\n",
        ]
        XCTAssertEqual(
            LoaderFixture.diagnostics(sources, files: ["a.proto"]),
            ["c.proto:3:8: import cycle: a.proto -> b.proto -> c.proto -> a.proto"])
    }

    func testAFileImportingItselfIsACycle() {
        XCTAssertEqual(
            LoaderFixture.diagnostics("syntax = \"proto3\";\nimport \"test.proto\";\n"),
            ["test.proto:2:8: import cycle: test.proto -> test.proto"])
    }

    func testImportingTheSameFileTwiceIsAnError() {
        XCTAssertEqual(
            LoaderFixture.diagnostics(
                "syntax = \"proto3\";\nimport \"identity.proto\";\nimport \"identity.proto\";\n", others: sources),
            ["test.proto:3:8: 'identity.proto' is imported more than once"])
    }

    func testAnErrorInAnImportedFileIsReportedOnceWithoutEchoesInItsImporters() {
        // Given identity.proto has a syntax error, and two files use its types
        var broken = sources
        broken["identity.proto"] = "syntax = \"proto3\";\nmessage Person { string name = 1 }\n"
        // Then only the syntax error is reported, not "unknown type 'Person'" in every importer
        XCTAssertEqual(
            LoaderFixture.diagnostics(broken, files: ["ledger.proto", "audit.proto"]),
            ["identity.proto:2:34: expected ';' after field declaration, found '}'"])
    }

    func testProblemsInSeveralFilesAreAllReportedFileByFile() {
        let sources = [
            "one.proto": "syntax = \"proto3\";\nmessage A { int32 x = 1; int32 y = 1; }\n",
            "two.proto": "syntax = \"proto2\";\n",
            "three.proto": "syntax = \"proto3\";\nmessage B { Unknown u = 1; }\n",
        ]
        XCTAssertEqual(
            LoaderFixture.diagnostics(sources, files: ["one.proto", "two.proto", "three.proto"]),
            [
                "one.proto:2:36: field number 1 of 'y' is already used by field 'x' in message 'A'",
                "two.proto:1:10: only proto3 is supported, but this file declares syntax \"proto2\"",
                "three.proto:2:13: unknown type 'Unknown' in field 'u'",
            ])
    }

    func testTwoFilesDefiningTheSameNameConflict() {
        let sources = [
            "a.proto": "syntax = \"proto3\";\npackage hl;\nmessage Grant {}\n",
            "b.proto": "syntax = \"proto3\";\npackage hl;\nimport \"a.proto\";\nmessage Grant {}\n",
        ]
        XCTAssertEqual(
            LoaderFixture.diagnostics(sources, files: ["b.proto"]),
            ["b.proto:4:9: 'Grant' is already defined in 'hl' (message in 'a.proto')"])
    }
}
