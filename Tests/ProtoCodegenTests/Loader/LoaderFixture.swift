// Shared steps for the loader stories: load in-memory .proto text and look things up in the model.

import ProtoCodegen
import XCTest

/// Loads in-memory .proto sources the way the loader tests need them.
enum LoaderFixture {
    /// Loads `source` as `path` (with `others` available to import) and returns the model.
    static func load(
        _ source: String, path: String = "test.proto", others: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProtoModel {
        var sources = others
        sources[path] = source
        do {
            return try ProtoLoader.load(sources: sources, files: [path])
        } catch {
            XCTFail("expected \(path) to load, got:\n\(error)", file: file, line: line)
            throw error
        }
    }

    /// Loads `source` as `path` and returns the first (only) file of the model that is `path`.
    static func loadFile(
        _ source: String, path: String = "test.proto", others: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProtoFile {
        let model = try load(source, path: path, others: others, file: file, line: line)
        return try XCTUnwrap(model.file(path), file: file, line: line)
    }

    /// The diagnostics, as "file:line:column: message" lines, of loading `files` from `sources`; empty
    /// when everything loads.
    static func diagnostics(_ sources: [String: String], files: [String]) -> [String] {
        do {
            _ = try ProtoLoader.load(sources: sources, files: files)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    /// The diagnostics of loading `source` as `test.proto`.
    static func diagnostics(_ source: String, others: [String: String] = [:]) -> [String] {
        var sources = others
        sources["test.proto"] = source
        return diagnostics(sources, files: ["test.proto"])
    }

    /// The field named `name` of `message`.
    static func field(
        _ name: String, of message: MessageType, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Field {
        try XCTUnwrap(message.fields.first { $0.name == name }, "no field \(name)", file: file, line: line)
    }

    /// The message named `name` among `messages`.
    static func message(
        _ name: String, in messages: [MessageType], file: StaticString = #filePath, line: UInt = #line
    ) throws -> MessageType {
        try XCTUnwrap(messages.first { $0.name == name }, "no message \(name)", file: file, line: line)
    }
}
