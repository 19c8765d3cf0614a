// Stories about loading from disk through include paths, including the repository's own .proto files
// and the well-known types that ship with protoc.

import Foundation
import ProtoCodegen
import XCTest

final class FileSystemLoadingTests: XCTestCase {
    /// The repository root, found from this file's own location (symlinks resolved).
    private let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private var temporaryDirectory: URL!

    override func setUpWithError() throws {
        temporaryDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporaryDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temporaryDirectory)
    }

    private func write(_ text: String, to relativePath: String) throws {
        let url = temporaryDirectory.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func testFilesAreNamedRelativeToTheIncludePathWhicheverWayTheyAreGiven() throws {
        // Given two include roots, one holding the ledger and one a shared file it imports
        try write("syntax = \"proto3\";\npackage hl;\nimport \"shared/id.proto\";\nmessage Grant { shared.Id id = 1; }\n", to: "proto/hl/grant.proto")
        try write("syntax = \"proto3\";\npackage shared;\nmessage Id { string v = 1; }\n", to: "vendor/shared/id.proto")
        let loader = ProtoLoader(includePaths: [temporaryDirectory.path + "/proto", temporaryDirectory.path + "/vendor"])

        // When the file is named by its filesystem path, and again by its include-relative path
        let byDiskPath = try loader.load(files: [temporaryDirectory.path + "/proto/./hl/../hl/grant.proto"])
        let byImportPath = try loader.load(files: ["hl/grant.proto"])

        // Then both name it (and its import) relative to the include roots
        XCTAssertEqual(byDiskPath.filesToGenerate, ["hl/grant.proto"])
        XCTAssertEqual(byDiskPath.files.map(\.path), ["shared/id.proto", "hl/grant.proto"])
        XCTAssertEqual(byDiskPath, byImportPath)
        XCTAssertEqual(byDiskPath.file("hl/grant.proto")?.messages[0].fields[0].location.file, "hl/grant.proto")
    }

    func testTheFirstIncludePathHoldingAFileWins() throws {
        try write("syntax = \"proto3\";\nmessage First {}\n", to: "a/x.proto")
        try write("syntax = \"proto3\";\nmessage Second {}\n", to: "b/x.proto")
        let model = try ProtoLoader(includePaths: [temporaryDirectory.path + "/a", temporaryDirectory.path + "/b"]).load(files: ["x.proto"])
        XCTAssertEqual(model.files[0].messages.map(\.name), ["First"])
    }

    func testAMissingFileOnDiskIsReported() throws {
        try write("syntax = \"proto3\";\nimport \"gone.proto\";\n", to: "p/a.proto")
        let loader = ProtoLoader(includePaths: [temporaryDirectory.path + "/p"])
        XCTAssertThrowsError(try loader.load(files: ["a.proto", "missing.proto"])) { error in
            XCTAssertEqual(
                (error as? ProtoLoadError)?.description,
                "a.proto:2:8: file not found: gone.proto\nmissing.proto: file not found: missing.proto")
        }
    }

    func testTheHealthLedgerProtosLoad() throws {
        try loadRepositoryProtos(under: "healthledger")
    }

    func testTheGRPCProtosLoad() throws {
        try loadRepositoryProtos(under: "grpc")
    }

    /// Loads every .proto below proto/<folder> with the repository's `proto` include path.
    private func loadRepositoryProtos(under folder: String) throws {
        let include = repositoryRoot.appendingPathComponent("proto")
        let root = include.appendingPathComponent(folder)
        let files = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".proto") }.sorted().map { root.appendingPathComponent($0).path }
        try XCTSkipIf(files.isEmpty, "no .proto files under proto/\(folder) yet")

        let model = try ProtoLoader(includePaths: [include.path]).load(files: files)

        XCTAssertEqual(model.filesToGenerate.count, files.count)
        XCTAssertTrue(model.filesToGenerate.allSatisfy { $0.hasPrefix(folder + "/") })
        for file in model.files where model.filesToGenerate.contains(file.path) {
            XCTAssertFalse(file.package.isEmpty, "\(file.path) has no package")
        }
    }

    func testTheProto3WellKnownTypesLoadAndProto2FilesAreRejectedCleanly() throws {
        let include = "/usr/include"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: include + "/google/protobuf/timestamp.proto"), "protobuf headers not installed")
        let loader = ProtoLoader(includePaths: [include])

        let model = try loader.load(files: ["google/protobuf/timestamp.proto", "google/protobuf/struct.proto", "google/protobuf/wrappers.proto"])
        XCTAssertEqual(model.file("google/protobuf/timestamp.proto")?.messages.map(\.fullName), ["google.protobuf.Timestamp"])
        let value = try XCTUnwrap(model.file("google/protobuf/struct.proto")?.messages.first { $0.name == "Struct" })
        XCTAssertEqual(value.nestedMessages.map(\.name), ["FieldsEntry"])

        // descriptor.proto is proto2: one clear diagnostic at its syntax string
        XCTAssertThrowsError(try loader.load(files: ["google/protobuf/descriptor.proto"])) { error in
            let diagnostics = (error as? ProtoLoadError)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.count, 1)
            XCTAssertEqual(diagnostics.first?.message, "only proto3 is supported, but this file declares syntax \"proto2\"")
            XCTAssertEqual(diagnostics.first?.location.file, "google/protobuf/descriptor.proto")
        }
    }

    func testAFileOnDiskOutsideEveryIncludePathIsRejected() throws {
        try write("syntax = \"proto3\";\n", to: "elsewhere/loose.proto")
        try write("syntax = \"proto3\";\n", to: "proto/ok.proto")
        let loose = temporaryDirectory.path + "/elsewhere/loose.proto"
        XCTAssertThrowsError(try ProtoLoader(includePaths: [temporaryDirectory.path + "/proto"]).load(files: [loose, "ok.proto"])) { error in
            XCTAssertEqual(
                (error as? ProtoLoadError)?.description,
                "\(loose): this file is not inside any include path; add an include path (-I) that contains it")
        }
    }
}
