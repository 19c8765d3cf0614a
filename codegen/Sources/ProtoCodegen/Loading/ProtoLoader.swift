// The front door of the generator: .proto files in, resolved model out, like `protoc -I`.

import Foundation

/// Reads .proto files (and, transitively, their imports) from include paths and resolves them, like protoc -I.
public struct ProtoLoader: Sendable {
    /// Directories searched, in order, for each include-relative path.
    public var includePaths: [String]

    /// Creates a loader searching `includePaths` (the current directory when empty).
    public init(includePaths: [String]) {
        self.includePaths = includePaths.isEmpty ? ["."] : includePaths
    }

    /// `files` may be paths relative to an include path ("healthledger/v1/ledger.proto") or filesystem paths
    /// lying under one ("proto/healthledger/v1/ledger.proto" with include path "proto"); the model uses the
    /// include-relative form everywhere.
    public func load(files: [String]) throws(ProtoLoadError) -> ProtoModel {
        let includePaths = includePaths
        var session = LoadSession { path in ProtoLoader.read(path, in: includePaths) }
        var paths: [String] = []
        for file in files {
            if let path = includeRelativePath(file) {
                paths.append(path)
            } else {
                session.report(
                    Diagnostic(
                        location: SourceLocation(file: file, line: 0, column: 0),
                        message: "this file is not inside any include path; add an include path (-I) that contains it"))
            }
        }
        return try session.load(paths)
    }

    /// Same, from in-memory sources keyed by include-relative path (for tests; no file system).
    public static func load(sources: [String: String], files: [String]) throws(ProtoLoadError) -> ProtoModel {
        var session = LoadSession { sources[$0] }
        return try session.load(files)
    }

    // MARK: - File system

    /// The include-relative form of a command-line path, decided as protoc does: a path that names a file
    /// through the include paths is already include-relative; otherwise a file on disk is named by its
    /// part below the first include path containing it. Nil for a file on disk outside every include path;
    /// a path naming nothing at all is returned as is, to be reported as not found.
    private func includeRelativePath(_ file: String) -> String? {
        let relative = ProtoLoader.normalized(file)
        if !file.hasPrefix("/"), ProtoLoader.locate(relative, in: includePaths) != nil { return relative }
        let absolute = ProtoLoader.absolute(file)
        guard ProtoLoader.isFile(absolute) else { return relative }
        for include in includePaths {
            let root = ProtoLoader.absolute(include)
            let prefix = root.hasSuffix("/") ? root : root + "/"
            if absolute.hasPrefix(prefix) { return String(absolute.dropFirst(prefix.count)) }
        }
        return nil
    }

    /// The text of the include-relative `path`, from the first include path that has it.
    private static func read(_ path: String, in includePaths: [String]) -> String? {
        guard let location = locate(path, in: includePaths), let data = FileManager.default.contents(atPath: location) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Where the include-relative `path` is on disk: below the first include path that has it.
    private static func locate(_ path: String, in includePaths: [String]) -> String? {
        includePaths.lazy.map { $0.hasSuffix("/") ? $0 + path : $0 + "/" + path }.first(where: isFile)
    }

    private static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// `path` made absolute against the current directory, with `.` and `..` resolved.
    private static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "/" + normalized(full)
    }

    /// `path` with empty and `.` components dropped and `..` applied.
    private static func normalized(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == "..", let last = components.last, last != ".." {
                components.removeLast()
            } else {
                components.append(component)
            }
        }
        return components.joined(separator: "/")
    }
}
