import DashboardAssets
import Foundation
import Testing

/// The dashboard the node embeds must be clients/web as committed: same files, same bytes.
@Suite("Embedded dashboard")
struct DashboardAssetsDriftTests {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("clients/web")

    /// What scripts/embed-dashboard embeds: regular files, not hidden, not under tests/, not Markdown.
    static func expectedFiles() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let root = source.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
        while let relative = walker.nextObject() as? String {
            let segments = relative.split(separator: "/")
            if segments.contains(where: { $0.hasPrefix(".") }) || segments.first == "tests" {
                if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { walker.skipDescendants() }
                continue
            }
            guard (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular, !relative.hasSuffix(".md")
            else {
                continue
            }
            files[relative] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
        }
        return files
    }

    @Test("Sources/DashboardAssets is clients/web as it is now (else run scripts/embed-dashboard)")
    func embeddedCopyIsCurrent() throws {
        let expected = try Self.expectedFiles()
        var embedded: [String: Data] = [:]
        for file in DashboardAssets.files {
            embedded[file.path] = Data(base64Encoded: file.base64.filter { !$0.isWhitespace })
        }
        let hint = "the embedded dashboard is out of date with clients/web: run scripts/embed-dashboard"
        let missing = Set(expected.keys).subtracting(embedded.keys).sorted()
        let stale = Set(embedded.keys).subtracting(expected.keys).sorted()
        let changed = expected.keys.filter { embedded[$0] != nil && embedded[$0] != expected[$0] }.sorted()
        #expect(missing.isEmpty, "\(hint) (not embedded: \(missing.joined(separator: ", ")))")
        #expect(stale.isEmpty, "\(hint) (embedded but gone: \(stale.joined(separator: ", ")))")
        #expect(changed.isEmpty, "\(hint) (changed: \(changed.joined(separator: ", ")))")
        #expect(expected["index.html"] != nil, "clients/web/index.html is missing")
    }
}
