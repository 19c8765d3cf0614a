#if canImport(Glibc)
import Glibc
#endif
import FHIRMapping
import Testing

/// Golden FHIR JSON files in Tests/FHIRMappingTests/Golden: the mapping's output for representative cases, kept in
/// git so a change of output shows in review, and validated by an independent FHIR implementation
/// (Tests/Interop/test_fhir_validation.py). HEALTHLEDGER_UPDATE_GOLDEN=1 rewrites them instead of comparing.
enum GoldenFile {
    /// The folder of the golden files.
    static let directory: String = {
        let thisFile = "\(#filePath)"
        return String(thisFile[..<thisFile.lastIndex(of: "/")!]) + "/Golden"
    }()

    /// Expects `resource`, written pretty, to equal the golden file `name` (e.g. "consent-permit-labs.json").
    static func expect(_ resource: FHIRJSON, equals name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = directory + "/" + name
        let produced = resource.serialized(pretty: true)
        if environment("HEALTHLEDGER_UPDATE_GOLDEN") == "1" {
            #expect(write(produced, to: path), "could not write \(path)", sourceLocation: sourceLocation)
            return
        }
        guard let stored = read(path) else {
            Issue.record("missing golden file \(name); run with HEALTHLEDGER_UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
            return
        }
        #expect(
            String(decoding: produced, as: UTF8.self) == String(decoding: stored, as: UTF8.self),
            "\(name) is out of date; rerun with HEALTHLEDGER_UPDATE_GOLDEN=1 and review the diff",
            sourceLocation: sourceLocation)
    }

    /// The parsed golden file `name`, for tests that read FHIR in.
    static func parsed(_ name: String) throws -> FHIRJSON {
        guard let bytes = read(directory + "/" + name) else { throw GoldenFileMissing(name: name) }
        return try FHIRJSONParser.parse(bytes)
    }

    private struct GoldenFileMissing: Error { var name: String }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return bytes
    }

    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return fwrite(bytes, 1, bytes.count, file) == bytes.count
    }
}
