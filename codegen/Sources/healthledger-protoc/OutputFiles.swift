#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Writes a generation's output all or nothing: every changed file goes to a temporary file beside its
/// destination first, and only when all of them are written are they renamed into place (rename(2) is atomic
/// within a directory). Files whose content is already current are not touched, so their timestamps don't
/// trigger rebuilds.
struct OutputFiles {
    /// Contents by destination path.
    var contents: [String: [UInt8]] = [:]

    /// How many files were written and how many were already current.
    struct Summary: Equatable {
        var written = 0
        var unchanged = 0
    }

    /// Writes every changed file; on failure removes the temporary files and throws.
    func commit() throws -> Summary {
        let fileManager = FileManager.default
        var summary = Summary()
        var pending: [(temporary: String, destination: String)] = []
        do {
            for (path, bytes) in contents.sorted(by: { $0.key < $1.key }) {
                if let existing = fileManager.contents(atPath: path), [UInt8](existing) == bytes {
                    summary.unchanged += 1
                    continue
                }
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
                let temporary = "\(path).tmp-\(getpid())"
                try Data(bytes).write(to: URL(fileURLWithPath: temporary))
                pending.append((temporary, path))
            }
        } catch {
            for (temporary, _) in pending { try? fileManager.removeItem(atPath: temporary) }
            throw error
        }
        for (temporary, destination) in pending {
            guard rename(temporary, destination) == 0 else {
                let reason = String(cString: strerror(errno))
                for (leftover, _) in pending { try? fileManager.removeItem(atPath: leftover) }
                throw OutputError(message: "cannot move \(temporary) to \(destination): \(reason)")
            }
            summary.written += 1
        }
        return summary
    }
}

/// Writing the output failed.
struct OutputError: Error, CustomStringConvertible {
    /// What failed.
    var message: String

    var description: String { message }
}
