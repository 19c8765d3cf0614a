// One loading run: reads the requested files and, depth first, everything they import (each file once),
// then validates and resolves them. Files that fail to parse, or import such files, are left out of
// resolution so their problems are reported once rather than echoed as unknown types downstream.

/// Loads a set of files through a source reader and produces the model or every diagnostic found.
struct LoadSession {
    private enum VisitState { case visiting, done }

    /// Returns the text of the file at an include-relative path, or nil when there is none.
    private let read: (String) -> String?
    private var state: [String: VisitState] = [:]
    private var parsed: [String: FileSyntax] = [:]
    /// Files whose imports form a cycle.
    private var inCycle: Set<String> = []
    /// Parsed files, dependencies before dependents.
    private var order: [String] = []
    /// Files in the order first met, which orders the diagnostics.
    private var discovery: [String: Int] = [:]
    private var diagnostics: [Diagnostic] = []

    init(read: @escaping (String) -> String?) {
        self.read = read
    }

    /// Records a problem found before loading (such as a file outside every include path).
    mutating func report(_ diagnostic: Diagnostic) {
        if discovery[diagnostic.location.file] == nil { discovery[diagnostic.location.file] = discovery.count }
        diagnostics.append(diagnostic)
    }

    /// Loads `files` (include-relative paths) and everything they import.
    mutating func load(_ files: [String]) throws(ProtoLoadError) -> ProtoModel {
        var requested: [String] = []
        for file in files where !requested.contains(file) {
            requested.append(file)
            visit(file, importedAt: nil, chain: [])
        }

        var resolvable: [FileSyntax] = []
        var resolvablePaths: Set<String> = []
        for path in order {
            guard let file = parsed[path] else { continue }
            diagnostics += Validator.validate(file)
            if !inCycle.contains(path), file.imports.allSatisfy({ resolvablePaths.contains($0.path) }) {
                resolvable.append(file)
                resolvablePaths.insert(path)
            }
        }
        let (resolved, resolveDiagnostics) = Resolver.resolve(resolvable)
        diagnostics += resolveDiagnostics

        guard diagnostics.isEmpty else { throw ProtoLoadError(diagnostics: sorted(diagnostics)) }
        return ProtoModel(files: resolved, filesToGenerate: requested)
    }

    private mutating func visit(_ path: String, importedAt: SourceLocation?, chain: [String]) {
        switch state[path] {
        case .done?:
            return
        case .visiting?:
            let cycle = chain.drop { $0 != path } + [path]
            inCycle.formUnion(cycle)
            diagnostics.append(
                Diagnostic(location: importedAt ?? wholeFile(path), message: "import cycle: \(cycle.joined(separator: " -> "))"))
            return
        case nil:
            break
        }
        if discovery[path] == nil { discovery[path] = discovery.count }
        guard let source = read(path) else {
            state[path] = .done
            diagnostics.append(Diagnostic(location: importedAt ?? wholeFile(path), message: "file not found: \(path)"))
            return
        }
        let file: FileSyntax
        do {
            file = try Parser.parse(source: source, path: path)
        } catch {
            state[path] = .done
            diagnostics.append(error.diagnostic)
            return
        }
        state[path] = .visiting
        var imported: Set<String> = []
        for dependency in file.imports {
            guard imported.insert(dependency.path).inserted else {
                diagnostics.append(
                    Diagnostic(location: dependency.location, message: "'\(dependency.path)' is imported more than once"))
                continue
            }
            visit(dependency.path, importedAt: dependency.location, chain: chain + [path])
        }
        state[path] = .done
        parsed[path] = file
        order.append(path)
    }

    private func wholeFile(_ path: String) -> SourceLocation { SourceLocation(file: path, line: 0, column: 0) }

    /// By file (in the order files were met), then by position; ties keep the order found.
    private func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { lhs, rhs in
            let (l, r) = (lhs.element.location, rhs.element.location)
            let (lf, rf) = (discovery[l.file] ?? Int.max, discovery[r.file] ?? Int.max)
            return (lf, l.line, l.column, lhs.offset) < (rf, r.line, r.column, rhs.offset)
        }.map(\.element)
    }
}
