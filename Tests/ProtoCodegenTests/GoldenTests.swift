import Foundation
import ProtoCodegen
import Testing

/// Each Golden/<name>.proto renders to exactly Golden/<name>.pb.swift. After an intended change to the
/// generated code, run the tests with HEALTHLEDGER_UPDATE_GOLDEN=1 to rewrite the expected files, then review
/// the diff.
@Suite struct GoldenTests {
    static let names = RepositoryPaths.files(
        under: RepositoryPaths.golden, suffix: ".proto", relativeTo: RepositoryPaths.golden, recursive: false
    ).map { String($0.dropLast(".proto".count)) }

    static let updating = ProcessInfo.processInfo.environment["HEALTHLEDGER_UPDATE_GOLDEN"] == "1"

    @Test func everyFeatureHasAGoldenCase() {
        let expected: Set = ["scalars", "collections", "oneofs", "nesting", "recursion", "services", "comments", "keywords"]
        #expect(expected.isSubset(of: Set(Self.names)), "missing: \(expected.subtracting(Self.names).sorted())")
    }

    @Test(arguments: names) func renderingMatchesTheGoldenFile(name: String) throws {
        let protoURL = RepositoryPaths.golden.appendingPathComponent("\(name).proto")
        let goldenURL = RepositoryPaths.golden.appendingPathComponent("\(name).pb.swift")
        let source = try String(contentsOf: protoURL, encoding: .utf8)
        let model = try ProtoLoader.load(sources: ["\(name).proto": source], files: ["\(name).proto"])
        let rendered = SwiftRenderer(model: model).render(file: "\(name).proto")

        if Self.updating {
            try Data(rendered.utf8).write(to: goldenURL)
            return
        }
        let expected = try String(contentsOf: goldenURL, encoding: .utf8)
        let difference = Self.firstDifference(rendered, expected)
        #expect(
            rendered == expected,
            """
            Golden/\(name).pb.swift differs \(difference); if the change is intended, rerun with \
            HEALTHLEDGER_UPDATE_GOLDEN=1 and review the diff
            """)
    }

    /// "at line N: got … expected …" for the first line that differs.
    static func firstDifference(_ actual: String, _ expected: String) -> String {
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(actualLines.count, expectedLines.count) {
            let got = index < actualLines.count ? String(actualLines[index]) : "<end of file>"
            let want = index < expectedLines.count ? String(expectedLines[index]) : "<end of file>"
            if got != want { return "at line \(index + 1): got `\(got)`, expected `\(want)`" }
        }
        return "(no line differs)"
    }
}
