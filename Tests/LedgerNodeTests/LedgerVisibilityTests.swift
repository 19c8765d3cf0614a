import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// What a principal without rights learns about a patient: nothing beyond their own actions.
    @Suite("Visibility to strangers")
    struct Visibility {
        @Test("a stranger listing the patient's grants sees none of them, and the grantee sees only its own")
        func listGrantsIsFiltered() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let researcher = try Participant(on: node)
                let mallory = try Participant(on: node)
                let clinicians = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs]))
                _ = try await patient.client.grant(
                    .permit(to: researcher.id, actions: [.read], categories: [.labs], purposes: [.research]))

                #expect(try await mallory.listedGrants(of: patient.id).isEmpty)
                #expect(try await mallory.listedGrants(of: "").isEmpty)
                #expect(try await clinician.listedGrants(of: patient.id).map(\.grantId) == [clinicians.grantId])
                #expect(try await patient.listedGrants(of: patient.id).count == 2)
            }
        }

        @Test("an AUDIT_READ holder listing the patient's grants is logged in the patient's trail before the page is sent; the grantee listing its own is not")
        func auditorsGrantListingIsAudited() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let auditor = try Participant(on: node)
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(
                    .permit(to: auditor.id, actions: [.auditRead], categories: [.all], purposes: [.operations]))
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
                let before = try await patient.auditTrail(of: patient.id).count

                #expect(try await clinician.listedGrants(of: patient.id).count == 1)
                #expect(try await patient.auditTrail(of: patient.id).count == before)
                #expect(try await auditor.listedGrants(of: patient.id).count == 2)
                let logged = try await patient.auditTrail(of: patient.id).dropFirst(before)
                #expect(logged.count == 1)
                #expect(logged.first?.actor == auditor.id)
                #expect(logged.first?.action == .auditRead && logged.first?.outcome == .allowed)
                #expect(logged.first?.reason == "grants listed")
            }
        }

        @Test("GetPrincipal tells a principal's next sequence only to that principal")
        func nextSequenceOnlyToSelf() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let mallory = try Participant(on: node)
                var request = Healthledger_V1_GetPrincipalRequest()
                request.principalId = patient.id
                let seen = try await mallory.client.stub.getPrincipal(
                    request, options: try await mallory.client.authenticated())
                #expect(seen.principal?.nextSequence == nil)
                #expect(seen.principal?.currentKeyId == patient.identity.key.publicKey.keyID)
            }
        }

        @Test("a stranger's audit stream of the patient carries only the stranger's own actions")
        func strangersAuditStreamShowsOnlyOwnActions() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let mallory = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
                #expect(await clinician.mayRead(patient.id, [.labs]))
                #expect(await mallory.mayRead(patient.id, [.labs]) == false)

                let seen = try await mallory.auditTrail(of: patient.id)
                #expect(seen.map(\.actor) == [mallory.id])
                #expect(seen.map(\.outcome) == [.denied])
                let all = try await patient.auditTrail(of: patient.id)
                #expect(all.contains { $0.actor == clinician.id })
            }
        }

        @Test(
            "an AUDIT_READ holder's live audit stream stops carrying other principals' events once the patient revokes the grant"
        )
        func revokedAuditReaderStopsSeeingEvents() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let auditor = try Participant(on: node)
                let clinician = try Participant(on: node)
                let auditing = try await patient.client.grant(
                    .permit(to: auditor.id, actions: [.auditRead], categories: [.all], purposes: [.operations]))
                let follower = AuditFollower(try await auditor.client.auditStream(.following(patient.id)))
                defer { follower.cancel() }
                // Seen while the grant is active: the revoke waits until the follower has it (a follower that
                // only wakes after the revoke committed is not shown it any more, which is the revoke working).
                #expect(await clinician.mayRead(patient.id, [.labs]) == false)
                let beforeRevoke = try await follower.wait(timeout: .seconds(60)) { seen in
                    seen.contains { $0.actor == clinician.id && $0.categories == [.labs] }
                }
                #expect(beforeRevoke.contains { $0.actor == clinician.id && $0.categories == [.labs] })
                _ = try await patient.client.revoke(grantID: auditing.grantId)
                let revokedAt = try await patient.auditTrail(of: patient.id).last?.sequence ?? 0

                // Decided after the Revoke returned: not the former auditor's business any more.
                #expect(await clinician.mayRead(patient.id, [.imaging]) == false)
                // The former auditor's own next action is still theirs to see, and events arrive in sequence order:
                // once it is in, every event committed before it has been delivered or withheld, however slow the
                // machine.
                #expect(await auditor.mayRead(patient.id, [.labs]) == false)
                let events = try await follower.wait(timeout: .seconds(60)) { seen in
                    seen.contains { $0.actor == auditor.id && $0.sequence > revokedAt }
                }
                #expect(events.contains { $0.actor == auditor.id && $0.sequence > revokedAt })
                let leaked = events.filter { $0.actor != auditor.id && $0.sequence > revokedAt }
                #expect(
                    leaked.isEmpty,
                    "\(leaked.count) events committed after the revoke reached the former AUDIT_READ holder: \(leaked.map(\.categories))"
                )
            }
        }

        @Test("a record id the caller may not read is NOT_FOUND exactly like an unknown id, and audited as denied")
        func recordIDOutsideThePermission() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let notes = try await patient.client.write(
                    patient: patient.id, category: .clinicalNotes, content: Array("follow-up".utf8),
                    mediaType: "text/plain")
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))

                var request = Healthledger_V1_QueryRequest.of(patient.id, [.labs])
                request.recordIds = [notes.recordId]
                let hidden = await expectStatus(.notFound, "another category's record id") {
                    try await clinician.client.query(request)
                }
                expectNames(hidden, field: "record_ids")
                expectRevealsNothing(hidden, records: [], contents: ["follow-up"])
                request.recordIds = [String(repeating: "ab", count: 32)]
                let unknown = await expectStatus(.notFound, "an unknown record id") {
                    try await clinician.client.query(request)
                }
                #expect(
                    hidden?.message.replacingOccurrences(of: notes.recordId, with: "ID")
                        == unknown?.message.replacingOccurrences(of: String(repeating: "ab", count: 32), with: "ID"))
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.denied, .denied])
                #expect(trail.allSatisfy { $0.releasedRecords.isEmpty })
            }
        }

        @Test("a stranger's erasure request naming the patient's record is NOT_FOUND and erases nothing")
        func strangerCannotErase() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let mallory = try Participant(on: node)
                var list = Healthledger_V1_RecordIdList()
                list.recordIds = [record]
                var erasure = Healthledger_V1_ErasureRequest()
                erasure.scope = .records(list)
                var request = Healthledger_V1_EraseRequest()
                request.transaction = try await mallory.signed(.erasureRequest(erasure))

                let error = await expectStatus(.notFound, "mallory erasing the patient's record") {
                    try await mallory.client.stub.erase(request)
                }
                expectNames(error, field: "transaction.body.erasure_request.records.record_ids[0]")
                #expect(try await mallory.nextSequence() == nil)
                let read = try await patient.client.query(.of(patient.id, [.labs], purpose: .patientRequest))
                #expect(read.records.map(\.content) == [Array(content.utf8)])
                #expect(read.records.first?.record.contentErased == false)
            }
        }
    }
}
