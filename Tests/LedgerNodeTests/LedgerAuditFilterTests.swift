import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

/// AuditStream's filters: actor, outcome and time range select what is sent.
@Suite("Audit stream filters", .serialized)
struct LedgerAuditFilterTests {
    @Test("a patient asks for the denied reads of one clinician within a time range, and gets exactly those")
    func filtersSelectEvents() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let first = LedgerIdentity.generate()
        let second = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        _ = try await patientClient.write(patient: patient.id, category: .labs, content: [1], mediaType: "text/plain")
        _ = try await patientClient.grant(.permit(to: first.id, actions: [.read], categories: [.labs]))
        for clinician in [first, second] {
            let client = try node.client(clinician)
            _ = try? await client.query(.of(patient.id, [.labs]))
            _ = try? await client.query(.of(patient.id, [.imaging]))
        }
        func events(_ adjust: (inout Healthledger_V1_AuditStreamRequest) -> Void) async throws -> [Healthledger_V1_AuditEvent] {
            var request = Healthledger_V1_AuditStreamRequest()
            request.patient = patient.id
            request.startSequence = 1
            adjust(&request)
            var found: [Healthledger_V1_AuditEvent] = []
            for try await message in try await patientClient.auditStream(request) {
                if case .event(let logged)? = message.item, let event = logged.event { found.append(event) }
            }
            return found
        }
        let all = try await events { _ in }
        #expect(all.count == 4)
        let deniedOfFirst = try await events {
            $0.actor = first.id
            $0.outcome = .denied
        }
        #expect(deniedOfFirst.count == 1)
        #expect(deniedOfFirst.first?.categories == [.imaging])
        let allowed = try await events { $0.outcome = .allowed }
        #expect(allowed.map(\.actor) == [first.id])
        let late = try await events { $0.fromUnixMs = all.last!.timeUnixMs + 1 }
        #expect(late.isEmpty)
        let early = try await events { $0.untilUnixMs = all.first!.timeUnixMs + 1 }
        #expect(early.allSatisfy { $0.timeUnixMs <= all.first!.timeUnixMs })
        #expect(!early.isEmpty)
        do {
            _ = try await events {
                $0.fromUnixMs = 10
                $0.untilUnixMs = 5
            }
            Issue.record("a reversed time range was accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("until_unix_ms"))
        }
        await node.stop()
    }
}
