import Foundation

/// Runs Python scripts with the repository's .venv interpreter (grpcio, h2), for tests against independent
/// HTTP/2 and gRPC implementations.
enum PythonRunner {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = repositoryRoot.appendingPathComponent(".venv/bin/python")

    /// Whether the venv exists (tests needing it are skipped otherwise).
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: python.path) }

    /// Writes `script` to a temporary file and runs it with `arguments`; returns the exit status and the
    /// combined output.
    static func run(_ script: String, arguments: [String]) async throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hl-transport-\(UUID().uuidString).py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = python
        process.arguments = [file.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Blocking reads and waits go to a Dispatch thread: on Swift's cooperative pool (one thread per core)
        // they would starve the server handlers the script is talking to.
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = (try? output.fileHandleForReading.readToEnd()) ?? Data()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
    }
}
