import Foundation

/// Paths inside the repository, found from this source file so tests run from any working directory.
enum RepositoryPaths {
    /// Tests/ProtoCodegenTests.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// The repository root.
    static let root = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    /// Golden .proto inputs and their expected .pb.swift outputs.
    static let golden = testsDirectory.appendingPathComponent("Golden")

    /// Every file under `directory` (recursively, or only at the top with `recursive: false`) whose name ends
    /// with `suffix`, as paths relative to `base`, sorted.
    static func files(under directory: URL, suffix: String, relativeTo base: URL, recursive: Bool = true) -> [String] {
        let basePath = base.standardizedFileURL.path + "/"
        var result: [String] = []
        let fileManager = FileManager.default
        if recursive {
            guard let enumerator = fileManager.enumerator(atPath: directory.path) else { return [] }
            while let relative = enumerator.nextObject() as? String {
                if relative.hasSuffix(suffix) { result.append(directory.appendingPathComponent(relative).path) }
            }
        } else {
            let names = (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? []
            result = names.filter { $0.hasSuffix(suffix) }.map { directory.appendingPathComponent($0).path }
        }
        return result.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            .map { $0.hasPrefix(basePath) ? String($0.dropFirst(basePath.count)) : $0 }
            .sorted()
    }

    /// The installed protoc, when there is one.
    static let protoc: String? = ["/usr/bin/protoc", "/usr/local/bin/protoc", "/opt/homebrew/bin/protoc"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The directory holding google/protobuf/descriptor.proto, for `protoc --decode`.
    static let protobufInclude: String? = ["/usr/include", "/usr/local/include", "/opt/homebrew/include"]
        .first { FileManager.default.fileExists(atPath: "\($0)/google/protobuf/descriptor.proto") }

    /// Whether protoc and descriptor.proto are installed (scripts/setup installs both).
    static let hasProtoc = protoc != nil && protobufInclude != nil

    /// Runs protoc with `arguments` and `input` on standard input; returns its exit status and standard output.
    @discardableResult
    static func runProtoc(_ arguments: [String], input: [UInt8] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: protoc ?? "protoc")
        process.arguments = arguments
        let inputPipe = Pipe()
        let outputPipe = Pipe()
        process.standardInput = inputPipe
        process.standardOutput = outputPipe
        try process.run()
        inputPipe.fileHandleForWriting.write(Data(input))
        try inputPipe.fileHandleForWriting.close()
        let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// A serialized FileDescriptorSet as protoc's text format, without the empty `options {}` blocks protoc
    /// writes for `rpc … {}` bodies (the model doesn't record an empty body; it means nothing).
    static func descriptorSetText(_ bytes: [UInt8]) throws -> String {
        let (status, text) = try runProtoc(
            ["-I", protobufInclude ?? "/usr/include", "--decode=google.protobuf.FileDescriptorSet",
             "google/protobuf/descriptor.proto"], input: bytes)
        guard status == 0 else { return "<protoc --decode failed>" }
        var lines: [Substring] = []
        for line in text.split(separator: "\n") {
            if line.trimmingCharacters(in: .whitespaces) == "}", let last = lines.last,
                last.trimmingCharacters(in: .whitespaces) == "options {"
            {
                lines.removeLast()
                continue
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
