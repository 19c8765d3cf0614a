import Foundation
import Testing

/// The `healthledger` client commands given several nodes of one chain (`--server a,b` or $HEALTHLEDGER_SERVER):
/// the real binary against two real TLS nodes serving copies of one data directory.
@Suite("healthledger command line against a cluster")
struct ClusterCommandLineTests {
    @Test(
        "given two nodes of one chain in HEALTHLEDGER_SERVER, when the first stops, the clinician still reads, the patient still audits and grants, and status names the node that answered; with both stopped, one line names both"
    )
    func commandsCarryOnWhenANodeStops() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let original = try CommandLineNode(dataDirectory: workspace.path + "/data")
        let single = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(original.port)") }
        #expect(single(["keygen", "--identity", "patient.pem"]).status == 0)
        #expect(single(["keygen", "--identity", "clinician.pem", "--algorithm", "p256"]).status == 0)
        let id = { (file: String) in
            try single(["whoami", "--identity", file, "--json"]).json()["principal_id"] as! String
        }
        let (patient, clinician) = (try id("patient.pem"), try id("clinician.pem"))
        try Data("{\"hba1c\": 5.4}".utf8).write(to: URL(fileURLWithPath: workspace.path + "/lab.json"))
        #expect(single(["write", "--identity", "patient.pem", "--category", "labs", "lab.json"]).status == 0)
        let granted = single([
            "grant", clinician, "--identity", "patient.pem", "--actions", "read", "--categories", "labs", "--for", "1h",
        ])
        #expect(granted.status == 0, "\(granted.stderr)")
        original.stop()

        try FileManager.default.copyItem(atPath: workspace.path + "/data", toPath: workspace.path + "/data-copy")
        let first = try CommandLineNode(dataDirectory: workspace.path + "/data")
        let second = try CommandLineNode(dataDirectory: workspace.path + "/data-copy")
        defer { second.stop() }
        let servers = "127.0.0.1:\(first.port), 127.0.0.1:\(second.port)"
        let run = { (arguments: [String]) in workspace.run(arguments, server: servers) }
        let status = try run(["status", "--json"]).json()
        #expect(status["server"] as? String == "127.0.0.1:\(first.port)")

        first.stop()
        let read = run(["query", "--identity", "clinician.pem", "--patient", patient, "--categories", "labs"])
        #expect(read.status == 0, "\(read.stderr)")
        let audit = run(["audit", "--identity", "patient.pem", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        #expect(try audit.jsonLines().count == 1)
        let again = run(["grant", clinician, "--identity", "patient.pem", "--categories", "imaging", "--for", "1h"])
        #expect(again.status == 0, "\(again.stderr)")
        let afterStop = try run(["status", "--json"]).json()
        #expect(afterStop["server"] as? String == "127.0.0.1:\(second.port)")
        // The flag gives the same list.
        let flagged = workspace.run(
            ["status", "--json", "--server", "127.0.0.1:\(first.port),127.0.0.1:\(second.port)"], server: "")
        #expect(flagged.status == 0, "\(flagged.stderr)")

        second.stop()
        let down = run(["status"])
        #expect(down.status == 4 && down.isOneLineError, "\(down.stderr)")
        #expect(down.stderr.contains("any of 127.0.0.1:\(first.port), 127.0.0.1:\(second.port)"), "\(down.stderr)")
        #expect(down.stderr.contains("connection to 127.0.0.1:\(second.port) failed"), "\(down.stderr)")
    }

    @Test("a server list with an empty address is a usage mistake named in one line")
    func emptyAddressInList() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let result = workspace.run(["status"], server: "127.0.0.1:1,,127.0.0.1:2")
        #expect(result.status == 5 && result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("an empty address"), "\(result.stderr)")
    }
}
