import Foundation
import Testing

/// The `healthledger` client commands as a user runs them: the real binary against a real TLS node.
@Suite("healthledger command line")
struct CommandLineTests {
    @Test("a patient grants a clinician labs, the clinician reads, the patient revokes, the read is denied and audited")
    func grantQueryRevokeAudit() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let node = try CommandLineNode(dataDirectory: workspace.path + "/data")
        defer { node.stop() }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(node.port)") }

        #expect(run(["keygen", "--identity", "patient.pem"]).status == 0)
        #expect(run(["keygen", "--identity", "clinician.pem", "--algorithm", "p256"]).status == 0)
        let patient = try run(["whoami", "--identity", "patient.pem", "--json"]).json()["principal_id"] as! String
        let clinician = try run(["whoami", "--identity", "clinician.pem", "--json"]).json()["principal_id"] as! String
        let patientFile = run(["whoami", "--identity", "patient.pem"])
        #expect(patientFile.stdout.contains("principal id:   \(patient)"))

        try Data("{\"hba1c\": 5.4}".utf8).write(to: URL(fileURLWithPath: workspace.path + "/lab.json"))
        let written = try run(["write", "--identity", "patient.pem", "--category", "labs", "lab.json", "--json"]).json()
        let recordID = try #require(written["record_id"] as? String)

        let granted = try run([
            "grant", clinician, "--identity", "patient.pem", "--actions", "read", "--categories", "labs", "--for", "1h",
            "--json",
        ]).json()
        let grantID = try #require(granted["grant_id"] as? String)
        let listed = run(["grants", "--identity", "clinician.pem", "--received"])
        #expect(listed.status == 0 && listed.stdout.contains(grantID) && listed.stdout.contains("active"))

        let allowed = run([
            "query", "--identity", "clinician.pem", "--patient", patient, "--categories", "labs", "--output", "records",
        ])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains(recordID))
        #expect(FileManager.default.contents(atPath: workspace.path + "/records/" + recordID) == Data("{\"hba1c\": 5.4}".utf8))

        #expect(run(["revoke", grantID, "--identity", "patient.pem"]).status == 0)
        let again = run(["revoke", grantID, "--identity", "patient.pem"])
        #expect(again.status == 2 && again.stderr.contains("already revoked"))

        let denied = run(["query", "--identity", "clinician.pem", "--patient", patient, "--categories", "labs"])
        #expect(denied.status == 2)
        #expect(denied.stdout.isEmpty)
        #expect(denied.isOneLineError, "\(denied.stderr)")

        let audit = run(["audit", "--identity", "patient.pem", "--json"])
        #expect(audit.status == 0)
        let events = try audit.jsonLines()
        #expect(events.map { $0["outcome"] as? String } == ["allowed", "denied"])
        #expect(events.allSatisfy { $0["actor"] as? String == clinician && $0["patient"] as? String == patient })
        #expect(events.first?["released_record_ids"] as? [String] == [recordID])
        #expect(events.first?["deciding_grant_ids"] as? [String] == [grantID])

        let verified = run(["verify", "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(try verified.json()["verified"] as? Bool == true)
    }

    @Test("mistakes end in one line naming the problem and the fix, with the documented exit code")
    func mistakes() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:1") }

        let missing = run(["whoami"])
        #expect(missing.status == 3 && missing.isOneLineError && missing.stderr.contains("healthledger keygen"))

        #expect(run(["keygen", "--identity", "me.pem"]).status == 0)
        let overwrite = run(["keygen", "--identity", "me.pem"])
        #expect(overwrite.status == 5 && overwrite.isOneLineError && overwrite.stderr.contains("--force"))
        let attributes = try FileManager.default.attributesOfItem(atPath: workspace.path + "/me.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        chmod(workspace.path + "/me.pem", 0o644)
        let loose = run(["whoami", "--identity", "me.pem"])
        #expect(loose.status == 5 && loose.isOneLineError && loose.stderr.contains("chmod 600"))
        chmod(workspace.path + "/me.pem", 0o600)

        let someone = try run(["whoami", "--identity", "me.pem", "--json"]).json()["principal_id"] as! String
        let badDuration = run(["grant", someone, "--identity", "me.pem", "--categories", "labs", "--for", "ages"])
        #expect(badDuration.status == 5 && badDuration.isOneLineError && badDuration.stderr.contains("1h30m"))

        let unknownCategory = run(["query", "--identity", "me.pem", "--categories", "labs,xrays"])
        #expect(unknownCategory.status == 5 && unknownCategory.isOneLineError)
        #expect(unknownCategory.stderr.contains("\"xrays\"") && unknownCategory.stderr.contains("clinical-notes, mental-health"))

        let noNode = run(["audit", "--identity", "me.pem", "--plaintext"])
        #expect(noNode.status == 4 && noNode.isOneLineError && noNode.stderr.contains("healthledger serve"))

        let usage = run(["grant", "--identity", "me.pem"])
        #expect(usage.status == 64 && usage.isOneLineError && usage.stderr.contains("healthledger grant --help"))
    }
}

/// A temporary directory used as the user's home and working directory.
struct CommandLineWorkspace {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("hl-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Runs `healthledger arguments` in the workspace with its own config and data homes.
    func run(_ arguments: [String], server: String, stdin: String? = nil) -> CommandLineResult {
        let process = start(arguments, server: server, stdin: stdin)
        let output = process.standardOutput as! Pipe
        let errors = process.standardError as! Pipe
        do { try process.run() } catch { return CommandLineResult(status: -1, stdout: "", stderr: "\(error)") }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandLineResult(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A `healthledger arguments` process set up like `run`'s (stdout and stderr pipes, stdin from the file
    /// `stdin` in the workspace or nothing), not started yet.
    func start(_ arguments: [String], server: String, stdin: String? = nil) -> Process {
        let process = Process()
        process.executableURL = CommandLineNode.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: path)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = path + "/config"
        environment["XDG_DATA_HOME"] = path + "/data-home"
        environment["XDG_STATE_HOME"] = path + "/state"
        environment["HEALTHLEDGER_SERVER"] = server
        environment["HEALTHLEDGER_IDENTITY"] = nil
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin.flatMap { FileHandle(forReadingAtPath: path + "/" + $0) } ?? FileHandle.nullDevice
        return process
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// What one command run printed and how it exited.
struct CommandLineResult {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Whether stderr is exactly one `error: ... (hint: ...)` line.
    var isOneLineError: Bool {
        let lines = stderr.split(separator: "\n")
        return lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains(" (hint: ") && lines[0].hasSuffix(")")
    }

    /// stdout as one JSON object.
    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(stdout)\(stderr)")
    }

    /// stdout as JSON lines.
    func jsonLines() throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }
}

/// A `healthledger serve` child process over TLS with its development CA, on a free port.
final class CommandLineNode: @unchecked Sendable {
    let process = Process()
    let port: Int

    /// The port from serve's first stdout line, "listening on port N" (its standard output must be a Pipe).
    static func listeningPort(of process: Process) throws -> Int {
        let handle = (process.standardOutput as! Pipe).fileHandleForReading
        var line: [UInt8] = []
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { throw CommandLineNodeError(description: "healthledger serve exited before listening") }
            if byte.first == UInt8(ascii: "\n") { break }
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening on port "), let port = Int(text.dropFirst("listening on port ".count)) else {
            throw CommandLineNodeError(description: "unexpected first line: \(text)")
        }
        return port
    }

    init(dataDirectory: String) throws {
        process.executableURL = Self.executable
        process.arguments = ["serve", "--data-dir", dataDirectory, "--port", "0", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try Self.listeningPort(of: process)
        // Clients find the development CA where a node with the default data directory keeps it:
        // <XDG_DATA_HOME>/healthledger/tls/ca.pem. A node restarted, or one serving a copy of the directory (with its
        // certificate), finds the link made already.
        let home = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path + "/data-home/healthledger"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: home + "/tls")) == nil {
            try FileManager.default.createSymbolicLink(atPath: home + "/tls", withDestinationPath: dataDirectory + "/tls")
        }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// The healthledger binary built beside this test bundle.
    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("healthledger")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/healthledger")
    }
}

struct CommandLineNodeError: Error, CustomStringConvertible {
    var description: String
}

extension CommandLineTests {
    @Test(
        "a FHIR resource is checked before anything is signed, and its category is the one its resourceType fits when not given"
    )
    func writeFHIR() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let node = try CommandLineNode(dataDirectory: workspace.path + "/data")
        defer { node.stop() }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(node.port)") }
        let files = [
            "allergy.json": #"{"resourceType":"AllergyIntolerance","code":{"text":"penicillin"}}"#,
            "potassium.json": #"{"resourceType":"Observation","status":"final","valueQuantity":{"value":4.10}}"#,
            "patient.json": #"{"resourceType":"Patient","name":[{"family":"Ng"}]}"#,
            "broken.json": #"{"resourceType":"Observation","status":"final""#,
            "bundle.json": #"{"resourceType":"Bundle","type":"collection"}"#,
        ]
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: workspace.path + "/" + name))
        }
        #expect(run(["keygen", "--identity", "patient.pem"]).status == 0)

        let allergy = run(["write", "--identity", "patient.pem", "--fhir", "allergy.json", "--json"])
        #expect(allergy.status == 0, "\(allergy.stderr)")
        let labs = run(["write", "--identity", "patient.pem", "--fhir", "--category", "labs", "potassium.json", "--json"])
        #expect(labs.status == 0, "\(labs.stderr)")

        let ambiguous = run(["write", "--identity", "patient.pem", "--fhir", "potassium.json"])
        #expect(ambiguous.status == 5 && ambiguous.isOneLineError)
        #expect(ambiguous.stderr.contains("potassium.json: Observation fits") && ambiguous.stderr.contains("labs, imaging, vitals"))
        let misfiled = run(["write", "--identity", "patient.pem", "--fhir", "--category", "labs", "patient.json"])
        #expect(misfiled.status == 5 && misfiled.isOneLineError)
        #expect(misfiled.stderr.contains(#"content.resourceType: "Patient" does not fit category DATA_CATEGORY_LABS"#))
        #expect(misfiled.stderr.contains("--category demographics"))
        let broken = run(["write", "--identity", "patient.pem", "--media-type", "application/fhir+json", "broken.json"])
        #expect(broken.status == 5 && broken.isOneLineError)
        #expect(broken.stderr.contains("not JSON at byte 46: expected ',' or '}' in an object"))
        let bundle = run(["write", "--identity", "patient.pem", "--fhir", "bundle.json"])
        #expect(bundle.status == 5 && bundle.isOneLineError)
        #expect(bundle.stderr.contains("bundle.json: no category holds Bundle resources"))
        let conflicting = run(["write", "--identity", "patient.pem", "--fhir", "--media-type", "text/plain", "allergy.json"])
        #expect(conflicting.status == 64 && conflicting.isOneLineError)
        let uncategorised = run(["write", "--identity", "patient.pem", "patient.json"])
        #expect(uncategorised.status == 64 && uncategorised.isOneLineError && uncategorised.stderr.contains("--fhir"))

        let records = try run(["query", "--identity", "patient.pem", "--categories", "allergies,labs", "--json"]).jsonLines()
        #expect(records.map { $0["category"] as? String } == ["allergies", "labs"])
        #expect(records.allSatisfy { $0["media_type"] as? String == "application/fhir+json" })
    }
}
