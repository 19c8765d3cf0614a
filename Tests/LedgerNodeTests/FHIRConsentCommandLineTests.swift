import Foundation
import Testing

/// `healthledger grant --from-fhir` as a patient uses it: the real binary against a real TLS node.
@Suite("FHIR Consent import on the command line")
struct FHIRConsentCommandLineTests {
    /// The principal ids written in Examples/fhir, replaced by the ids of this run's people.
    static let examplePatient = "hl15239u0zfuppj4mxutmyufu8udr8s8wt6kdxlpu"
    static let exampleClinician = "hl14mgv5ku9v8zclaln3w5x8vtctpc0jvzc8pf9zd"

    static func example(_ name: String) throws -> String {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let url = tests.deletingLastPathComponent().appendingPathComponent("Examples/fhir/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test(
        """
        a patient imports a hand-drafted Consent (labs and vitals for treatment and operations, except vitals for \
        operations), signs it, and the clinician is allowed where it permits and refused where it does not
        """)
    func handDraftedConsentIsImportedSignedAndEnforced() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let node = try CommandLineNode(dataDirectory: workspace.path + "/data")
        defer { node.stop() }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(node.port)") }

        #expect(run(["keygen", "--identity", "patient.pem"]).status == 0)
        #expect(run(["keygen", "--identity", "clinician.pem"]).status == 0)
        let patient = try run(["whoami", "--identity", "patient.pem", "--json"]).json()["principal_id"] as! String
        let clinician = try run(["whoami", "--identity", "clinician.pem", "--json"]).json()["principal_id"] as! String
        let drafted = try Self.example("consent-labs-vitals-treatment.json")
            .replacing(Self.examplePatient, with: patient).replacing(Self.exampleClinician, with: clinician)
        try Data(drafted.utf8).write(to: URL(fileURLWithPath: workspace.path + "/consent.json"))

        try Data("{\"hba1c\": 5.4}".utf8).write(to: URL(fileURLWithPath: workspace.path + "/lab.json"))
        try Data("{\"pulse\": 61}".utf8).write(to: URL(fileURLWithPath: workspace.path + "/vitals.json"))
        let lab = try run(["write", "--identity", "patient.pem", "--category", "labs", "lab.json", "--json"]).json()
        let vitals = try run(["write", "--identity", "patient.pem", "--category", "vitals", "vitals.json", "--json"])
            .json()
        let labID = try #require(lab["record_id"] as? String)
        let vitalsID = try #require(vitals["record_id"] as? String)

        let dryRun = run(["grant", "--from-fhir", "consent.json", "--dry-run", "--json"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let proposed = try dryRun.jsonLines()
        #expect(proposed.map { $0["effect"] as? String } == ["deny", "permit"])
        #expect(proposed.allSatisfy { $0["grant_id"] == nil })
        #expect(run(["grants", "--identity", "patient.pem", "--given"]).stderr.contains("no grants"))

        let stranger = run(["grant", "--from-fhir", "consent.json", "--identity", "clinician.pem"])
        #expect(
            stranger.status == 2 && stranger.isOneLineError && stranger.stderr.contains("the consent is for patient"))

        let imported = run(["grant", "--from-fhir", "consent.json", "--identity", "patient.pem", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let grants = try imported.jsonLines()
        #expect(grants.map { $0["effect"] as? String } == ["deny", "permit"])
        #expect(
            grants[0]["categories"] as? [String] == ["vitals"] && grants[0]["purposes"] as? [String] == ["operations"])
        #expect(grants[1]["categories"] as? [String] == ["labs", "vitals"])
        #expect(grants[1]["purposes"] as? [String] == ["treatment", "operations"])
        #expect(grants.allSatisfy { ($0["grant_id"] as? String)?.count == 64 && $0["grantee"] as? String == clinician })
        let listed = run(["grants", "--identity", "clinician.pem", "--received", "--json"])
        #expect(try listed.jsonLines().map { $0["state"] as? String } == ["active", "active"])

        func query(_ category: String, for purpose: String) -> CommandLineResult {
            run([
                "query", "--identity", "clinician.pem", "--patient", patient, "--categories", category, "--purpose",
                purpose,
            ])
        }
        let labsForTreatment = query("labs", for: "treatment")
        #expect(labsForTreatment.status == 0 && labsForTreatment.stdout.contains(labID), "\(labsForTreatment.stderr)")
        let vitalsForTreatment = query("vitals", for: "treatment")
        #expect(
            vitalsForTreatment.status == 0 && vitalsForTreatment.stdout.contains(vitalsID),
            "\(vitalsForTreatment.stderr)")
        let labsForOperations = query("labs", for: "operations")
        #expect(
            labsForOperations.status == 0 && labsForOperations.stdout.contains(labID), "\(labsForOperations.stderr)")

        let vitalsForOperations = query("vitals", for: "operations")
        #expect(vitalsForOperations.status == 2 && vitalsForOperations.isOneLineError, "\(vitalsForOperations.stderr)")
        #expect(!vitalsForOperations.stdout.contains(vitalsID))
        let labsForResearch = query("labs", for: "research")
        #expect(labsForResearch.status == 2 && labsForResearch.isOneLineError, "\(labsForResearch.stderr)")

        let audit = try run(["audit", "--identity", "patient.pem", "--json"]).jsonLines()
        #expect(audit.map { $0["outcome"] as? String } == ["allowed", "allowed", "allowed", "denied", "denied"])
        #expect(audit[3]["deciding_grant_ids"] as? [String] == [grants[0]["grant_id"] as! String])
    }

    @Test("a Consent the mapping cannot state is refused in one line naming the element, and nothing is signed")
    func unsupportedConsentIsRefused() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let run = { (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:1") }
        let drafted = try Self.example("consent-labs-vitals-treatment.json")
            .replacing(#""code": "access""#, with: #""code": "disclose""#)
        try Data(drafted.utf8).write(to: URL(fileURLWithPath: workspace.path + "/consent.json"))

        let refused = run(["grant", "--from-fhir", "consent.json", "--dry-run"])
        #expect(refused.status == 5 && refused.isOneLineError, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("consent.json: Consent.provision.action[0]: action \"disclose\" is not supported"))
        let missing = run(["grant", "--from-fhir", "absent.json", "--dry-run"])
        #expect(missing.status == 3 && missing.isOneLineError)
        let mixed = run(["grant", "--from-fhir", "consent.json", "--categories", "labs"])
        #expect(mixed.status == 64 && mixed.isOneLineError && mixed.stderr.contains("--categories cannot be combined"))
    }
}
