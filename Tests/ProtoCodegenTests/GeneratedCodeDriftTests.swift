import Foundation
import ProtoCodegen
import Testing

/// The committed generated code is what the generator makes from the committed .proto files today.
@Suite struct GeneratedCodeDriftTests {
    /// A set of .proto files generated together and where their output is committed.
    struct Group: CustomStringConvertible {
        /// Include directory (relative to the repository root).
        var include: String
        /// Directories holding the group's .proto files, generated in one run into `output`.
        var protos: [String]
        /// Whether to look into subdirectories of `protos`.
        var recursive: Bool
        /// Directory of the committed .pb.swift files.
        var output: String

        var description: String { "\(protos.joined(separator: " + ")) -> \(output)" }
    }

    /// The groups scripts/regenerate generates.
    static let groups = [
        Group(include: "proto", protos: ["proto/healthledger"], recursive: true, output: "Sources/HealthLedgerProtos"),
        Group(
            include: "proto", protos: ["proto/grpc", "proto/google"], recursive: true,
            output: "Sources/GRPCProtos"),
        Group(
            include: "Tests/WireFixtures/proto", protos: ["Tests/WireFixtures/proto"], recursive: false,
            output: "Tests/WireFixtures/Generated"),
        Group(
            include: "Benchmarks/grpc", protos: ["Benchmarks/grpc"], recursive: false,
            output: "Benchmarks/grpc/swift/echo-bench-server"),
    ]

    @Test(arguments: groups) func committedGeneratedCodeIsCurrent(group: Group) throws {
        let root = RepositoryPaths.root
        let include = root.appendingPathComponent(group.include)
        let files = group.protos.flatMap { protos in
            RepositoryPaths.files(
                under: root.appendingPathComponent(protos), suffix: ".proto", relativeTo: include,
                recursive: group.recursive)
        }
        try #require(!files.isEmpty, "no .proto files in \(group.protos)")

        let model = try ProtoLoader(includePaths: [include.path]).load(files: files)
        let generated = CodeGenerator.generate(model: model)

        let outputDirectory = root.appendingPathComponent(group.output)
        var stale: [String] = []
        for (path, text) in generated.sorted(by: { $0.key < $1.key }) {
            let committed = try? String(
                contentsOf: outputDirectory.appendingPathComponent(path), encoding: .utf8)
            if committed != text {
                stale.append("\(group.output)/\(path)" + (committed == nil ? " (missing)" : ""))
            }
        }
        let committedFiles = RepositoryPaths.files(
            under: outputDirectory, suffix: ".pb.swift", relativeTo: outputDirectory)
        for path in committedFiles where generated[path] == nil {
            stale.append("\(group.output)/\(path) (no .proto produces it)")
        }
        let list = stale.joined(separator: "\n")
        #expect(stale.isEmpty, "Generated code is out of date; run scripts/regenerate. Stale files:\n\(list)")
    }

    /// The dashboard's ES modules: proto/healthledger/v1 generated with `--js_out=clients/web/generated`.
    @Test func committedJavaScriptIsCurrent() throws {
        let root = RepositoryPaths.root
        let include = root.appendingPathComponent("proto")
        let files = RepositoryPaths.files(
            under: include.appendingPathComponent("healthledger/v1"), suffix: ".proto", relativeTo: include,
            recursive: false)
        try #require(!files.isEmpty, "no .proto files in proto/healthledger/v1")

        let model = try ProtoLoader(includePaths: [include.path]).load(files: files)
        let generated = CodeGenerator.generateJavaScript(model: model)

        let output = "clients/web/generated"
        let outputDirectory = root.appendingPathComponent(output)
        var stale: [String] = []
        for (path, text) in generated.sorted(by: { $0.key < $1.key }) {
            let committed = try? String(contentsOf: outputDirectory.appendingPathComponent(path), encoding: .utf8)
            if committed != text {
                stale.append("\(output)/\(path)" + (committed == nil ? " (missing)" : ""))
            }
        }
        for path in RepositoryPaths.files(under: outputDirectory, suffix: ".js", relativeTo: outputDirectory)
        where generated[path] == nil {
            stale.append("\(output)/\(path) (no .proto produces it)")
        }
        let list = stale.joined(separator: "\n")
        #expect(stale.isEmpty, "Generated JavaScript is out of date; run scripts/regenerate. Stale files:\n\(list)")
    }
}
