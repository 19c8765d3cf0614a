import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

/// How a patient's DENY grants for PURPOSE_EMERGENCY shape break-glass access.
@Suite("Emergency access refused in part", .serialized)
struct LedgerEmergencyRefusalTests {
    @Test("a patient who refused emergency access to allergies only: the clinician opens medications, reads them, and is still denied allergies")
    func partialRefusal() async throws {
        let clinician = LedgerIdentity.generate()
        let node = try await LedgerTestNode { $0.rules.emergencyClinicians = [clinician.id] }
        let patient = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        _ = try await patientClient.write(patient: patient.id, category: .allergies, content: [1], mediaType: "text/plain")
        _ = try await patientClient.write(patient: patient.id, category: .medications, content: [2], mediaType: "text/plain")
        var deny = Healthledger_V1_Grant()
        deny.grantee = "*"
        deny.actions = [.read]
        deny.categories = [.allergies]
        deny.purposes = [.emergency]
        deny.effect = .deny
        _ = try await patientClient.grant(deny)

        // Everything asked is refused: no opening.
        do {
            _ = try await clinicianClient.openEmergencyAccess(patient: patient.id, categories: [.allergies], reason: "collapse")
            Issue.record("opened although the patient refused every category asked")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }
        _ = try await clinicianClient.openEmergencyAccess(
            patient: patient.id, categories: [.allergies, .medications], reason: "collapse")
        let medications = try await clinicianClient.query(.of(patient.id, [.medications], purpose: .emergency))
        #expect(medications.records.map(\.content) == [[2]])
        do {
            _ = try await clinicianClient.query(.of(patient.id, [.allergies], purpose: .emergency))
            Issue.record("allergies released despite the patient's DENY")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }
        await node.stop()
    }
}
