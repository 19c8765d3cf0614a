import Foundation
import LedgerCrypto
import Testing

/// `healthledger import` and the streaming `healthledger write` as a user runs them: the real binary against a
/// real TLS node, records checked by querying them back.
@Suite("healthledger import and streaming write")
struct ImportCommandTests {
    /// A workspace with a running node and a patient identity, and the files of a lab directory.
    struct Story {
        let workspace: CommandLineWorkspace
        let node: CommandLineNode
        let patient: String

        init() throws {
            workspace = try CommandLineWorkspace()
            node = try CommandLineNode(dataDirectory: workspace.path + "/data")
            _ = workspace.run(["keygen", "--identity", "patient.pem"], server: "")
            patient =
                try workspace.run(["whoami", "--identity", "patient.pem", "--json"], server: "").json()[
                    "principal_id"] as! String
        }

        func run(_ arguments: [String], stdin: String? = nil) -> CommandLineResult {
            workspace.run(arguments + ["--identity", "patient.pem"], server: "127.0.0.1:\(node.port)", stdin: stdin)
        }

        /// Writes `count` files of `size` random bytes into `directory` (relative to the workspace).
        func labFiles(_ directory: String, count: Int, size: Int) throws -> [String: [UInt8]] {
            try FileManager.default.createDirectory(
                atPath: workspace.path + "/" + directory, withIntermediateDirectories: true)
            var files: [String: [UInt8]] = [:]
            for index in 0..<count {
                let name = String(format: "result-%04d.json", index)
                let bytes = SecureRandom.bytes(size)
                try Data(bytes).write(to: URL(fileURLWithPath: workspace.path + "/" + directory + "/" + name))
                files[name] = bytes
            }
            return files
        }

        /// Every labs record of the patient: content SHA-256 (hex) of each, in commit order, and the saved bytes.
        func labRecords() throws -> [(sha256: String, content: [UInt8])] {
            let output = "read-\(UUID().uuidString)"
            let query = run(["query", "--categories", "labs", "--output", output, "--json"])
            #expect(query.status == 0, "\(query.stderr)")
            return try query.jsonLines().map { record in
                let id = record["record_id"] as! String
                let content = FileManager.default.contents(atPath: workspace.path + "/" + output + "/" + id) ?? Data()
                return (record["content_sha256"] as! String, [UInt8](content))
            }
        }

        func stop() {
            node.stop()
            workspace.remove()
        }
    }

    @Test("a directory imports as one record per file, queryable with identical bytes; a re-run skips every file")
    func importDirectoryThenRerun() throws {
        let story = try Story()
        defer { story.stop() }
        let files = try story.labFiles("labs", count: 12, size: 3000)

        let first = story.run(["import", "--category", "labs", "labs", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = try first.jsonLines()
        #expect(lines.dropLast().map { $0["path"] as? String } == files.keys.sorted())
        #expect(lines.dropLast().allSatisfy { $0["outcome"] as? String == "imported" })
        #expect(lines.last?["imported"] as? Int == 12 && lines.last?["skipped"] as? Int == 0)

        let records = try story.labRecords()
        #expect(records.count == 12)
        #expect(
            Set(records.map(\.sha256)) == Set(files.values.map { Hex.encode(SHA256.hash($0)) }))
        #expect(Set(records.map(\.content)) == Set(files.values))

        let again = story.run(["import", "--category", "labs", "labs", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        let summary = try #require(try again.jsonLines().last)
        #expect(summary["imported"] as? Int == 0 && summary["skipped"] as? Int == 12)
        #expect(try story.labRecords().count == 12)
    }

    @Test("an import killed with SIGKILL mid-way resumes on the next run and the node has every file exactly once")
    func killedImportResumes() throws {
        let story = try Story()
        defer { story.stop() }
        let files = try story.labFiles("labs", count: 150, size: 2048)
        let journal = story.workspace.path + "/labs/.healthledger-import.jsonl"

        let process = story.workspace.start(
            ["import", "--category", "labs", "labs", "--identity", "patient.pem", "--json"],
            server: "127.0.0.1:\(story.node.port)")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once some but not all files are journalled: a condition, not a time.
        while process.isRunning {
            let lines = (FileManager.default.contents(atPath: journal) ?? Data()).split(separator: UInt8(ascii: "\n"))
            if lines.count >= 40 { break }
            usleep(2000)
        }
        #expect(process.isRunning, "the import finished before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let before = try story.labRecords().count
        #expect(before > 0 && before < files.count)

        let resumed = story.run(["import", "--category", "labs", "labs", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try #require(try resumed.jsonLines().last)
        #expect(summary["skipped"] as? Int ?? 0 > 0)
        #expect((summary["imported"] as? Int ?? 0) + (summary["skipped"] as? Int ?? 0) == files.count)

        let copies = Dictionary(try story.labRecords().map { ($0.sha256, 1) }, uniquingKeysWith: +)
        #expect(copies.filter { $0.value > 1 }.isEmpty, "files imported twice: \(copies.filter { $0.value > 1 }.keys)")
        #expect(Set(copies.keys) == Set(files.values.map { Hex.encode(SHA256.hash($0)) }))
    }

    @Test("a file changed since it was imported is reported with exit 1 and not imported again")
    func changedFileIsReported() throws {
        let story = try Story()
        defer { story.stop() }
        _ = try story.labFiles("labs", count: 3, size: 100)
        #expect(story.run(["import", "--category", "labs", "labs"]).status == 0)
        let changed = story.workspace.path + "/labs/result-0001.json"
        try Data("{\"edited\": true}".utf8).write(to: URL(fileURLWithPath: changed))

        let rerun = story.run(["import", "--category", "labs", "labs"])
        #expect(rerun.status == 1)
        #expect(rerun.isOneLineError, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("result-0001.json") && rerun.stderr.contains("--amends"))
        #expect(try story.labRecords().count == 3)
    }

    @Test("a missing file, an unknown category and an unreachable node end in one line with the documented code")
    func mistakes() throws {
        let story = try Story()
        defer { story.stop() }
        _ = try story.labFiles("labs", count: 2, size: 100)
        try FileManager.default.createSymbolicLink(
            atPath: story.workspace.path + "/labs/result-0001b.json", withDestinationPath: "gone.json")

        let missing = story.run(["import", "--category", "labs", "labs"])
        #expect(missing.status == 3 && missing.isOneLineError, "\(missing.stderr)")
        #expect(missing.stderr.contains("result-0001b.json"))
        #expect(try story.labRecords().count == 2)  // the files before it, nothing of it

        if getuid() != 0 {  // root reads any file
            try FileManager.default.removeItem(atPath: story.workspace.path + "/labs/result-0001b.json")
            try Data("x".utf8).write(to: URL(fileURLWithPath: story.workspace.path + "/labs/result-0002.json"))
            chmod(story.workspace.path + "/labs/result-0002.json", 0)
            let unreadable = story.run(["import", "--category", "labs", "labs"])
            #expect(
                unreadable.status == 3 && unreadable.isOneLineError && unreadable.stderr.contains("result-0002.json"))
        }

        let unknown = story.run(["import", "--category", "xrays", "labs"])
        #expect(unknown.status == 5 && unknown.isOneLineError && unknown.stderr.contains("\"xrays\""))

        try Data("{\"path\": \"labs/result-0000.json\", \"category\": \"bloodwork\"}\n".utf8).write(
            to: URL(fileURLWithPath: story.workspace.path + "/manifest.jsonl"))
        let badManifest = story.run(["import", "--manifest", "manifest.jsonl"])
        #expect(badManifest.status == 5 && badManifest.isOneLineError && badManifest.stderr.contains("line 1"))

        let unreachable = story.workspace.run(
            ["import", "--category", "labs", "labs", "--identity", "patient.pem"], server: "127.0.0.1:1")
        #expect(
            unreachable.status == 4 && unreachable.isOneLineError && unreachable.stderr.contains("healthledger serve"))
    }

    @Test("write streams a file of several 1 MiB chunks and stdin, and both read back byte for byte")
    func streamingWrite() throws {
        let story = try Story()
        defer { story.stop() }
        let large = SecureRandom.bytes(3 << 20 | 12345)
        try Data(large).write(to: URL(fileURLWithPath: story.workspace.path + "/scan.bin"))
        let piped = SecureRandom.bytes(1 << 20 | 777)
        try Data(piped).write(to: URL(fileURLWithPath: story.workspace.path + "/piped.bin"))

        let fromFile = story.run(["write", "--category", "labs", "scan.bin", "--json"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(try fromFile.json()["size_bytes"] as? Int == large.count)
        let fromStdin = story.run(["write", "--category", "labs", "-", "--json"], stdin: "piped.bin")
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(try fromStdin.json()["content_sha256"] as? String == Hex.encode(SHA256.hash(piped)))

        let records = try story.labRecords()
        #expect(records.map(\.content) == [large, piped])
    }
}
