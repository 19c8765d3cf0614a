import Foundation
import Testing

/// Erasure as a patient does it: the real `healthledger erase` against a real TLS node, then what queries, the
/// audit trail, the data directory and the chain show.
@Suite("healthledger erase")
struct EraseCommandTests {
    @Test(
        "a patient erases one record, then all: queries list them as erased without content, the files and the data key are gone, the trail shows it, the chain still verifies"
    )
    func eraseOneThenAll() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let dataDirectory = workspace.path + "/data"
        let node = try CommandLineNode(dataDirectory: dataDirectory)
        var nodeRunning = true
        defer { if nodeRunning { node.stop() } }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(node.port)") }

        #expect(run(["keygen", "--identity", "patient.pem"]).status == 0)
        #expect(run(["keygen", "--identity", "clinician.pem"]).status == 0)
        let patient = try run(["whoami", "--identity", "patient.pem", "--json"]).json()["principal_id"] as! String
        let clinician = try run(["whoami", "--identity", "clinician.pem", "--json"]).json()["principal_id"] as! String
        var recordIDs: [String] = []
        for (name, content) in [("wrong.json", "{\"hba1c\": 9.9}"), ("right.json", "{\"hba1c\": 5.4}")] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: workspace.path + "/" + name))
            let written = try run(["write", "--identity", "patient.pem", "--category", "labs", name, "--json"]).json()
            recordIDs.append(try #require(written["record_id"] as? String))
        }
        #expect(
            run(["grant", clinician, "--identity", "patient.pem", "--actions", "read", "--categories", "labs"]).status == 0)
        let recordsDirectory = dataDirectory + "/content/records/" + patient
        let storedBefore = try FileManager.default.contentsOfDirectory(atPath: recordsDirectory)
        #expect(storedBefore.count == 2)

        // Without a terminal and without --yes nothing is erased.
        let unconfirmed = run(["erase", "--identity", "patient.pem", "--record", recordIDs[0]])
        #expect(unconfirmed.status == 5 && unconfirmed.isOneLineError && unconfirmed.stderr.contains("--yes"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: recordsDirectory).count == 2)
        // Only the patient erases their records.
        let stranger = run(["erase", "--identity", "clinician.pem", "--record", recordIDs[0], "--yes"])
        #expect(stranger.status != 0 && stranger.isOneLineError)

        let one = try run([
            "erase", "--identity", "patient.pem", "--record", recordIDs[0], "--reason", "wrong patient", "--yes", "--json",
        ]).json()
        #expect(one["erased_record_count"] as? Int == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: recordsDirectory).count == 1)

        let afterOne = run([
            "query", "--identity", "clinician.pem", "--patient", patient, "--categories", "labs", "--output", "out",
            "--json",
        ])
        #expect(afterOne.status == 0, "\(afterOne.stderr)")
        let listed = try afterOne.jsonLines()
        #expect(listed.map { $0["record_id"] as? String } == recordIDs)
        #expect(listed.map { $0["content_erased"] as? Bool } == [true, false])
        #expect(!FileManager.default.fileExists(atPath: workspace.path + "/out/" + recordIDs[0]))
        #expect(FileManager.default.contents(atPath: workspace.path + "/out/" + recordIDs[1]) == Data("{\"hba1c\": 5.4}".utf8))

        let all = try run(["erase", "--identity", "patient.pem", "--all", "--yes", "--json"]).json()
        #expect(all["erased_record_count"] as? Int == 1)
        #expect(!FileManager.default.fileExists(atPath: dataDirectory + "/content/keys/" + patient + ".key"))
        #expect(!FileManager.default.fileExists(atPath: recordsDirectory))
        let afterAll = try run([
            "query", "--identity", "clinician.pem", "--patient", patient, "--categories", "labs", "--json",
        ]).jsonLines()
        #expect(afterAll.map { $0["content_erased"] as? Bool } == [true, true])

        let trail = try run(["audit", "--identity", "patient.pem", "--json"]).jsonLines()
        let erasures = trail.filter { ($0["reason"] as? String)?.hasPrefix("erasure:") == true }
        #expect(erasures.count == 2)
        #expect(erasures.allSatisfy { $0["actor"] as? String == patient && $0["action"] as? String == "write" })
        #expect((erasures.first?["reason"] as? String)?.contains("(reason: wrong patient)") == true)
        #expect(erasures.first?["categories"] as? [String] == ["labs"])

        node.stop()
        nodeRunning = false
        let verified = run(["verify", "--data-dir", dataDirectory, "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
    }
}
