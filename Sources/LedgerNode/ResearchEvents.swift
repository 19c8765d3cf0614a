import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto

/// What the research feed makes of the audit trail, without I/O: who opted in, and each event with its ids replaced
/// by pseudonyms and everything that could identify a record or a person left out.
enum ResearchEvents {
    /// Milliseconds an event's time is rounded down to: exact times could link events to people.
    static let timeGranularityMs: Int64 = 60_000

    /// The decision that opts `patient` in to `researcher`'s feed, or nil: an active PERMIT for ACTION_AUDIT_READ with
    /// PURPOSE_RESEARCH to the researcher that no DENY grant (to the researcher or "*") overrides. The patient's own
    /// right to their trail does not count: being a researcher does not opt oneself in.
    static func optIn(researcher: String, patient: String, policy: PatientPolicy?, now: Int64) -> Decision? {
        let request = AccessRequest(
            caller: researcher, patient: patient, action: .auditRead, categories: .every, asksAllCategories: true,
            purpose: .research, now: now)
        let decision = PolicyEngine.decide(request, policy: policy)
        return decision.isAllowed && decision.basis == .permitGrant ? decision : nil
    }

    /// `event` as the feed shows it, with the pseudonyms still to be filled in (they are computed outside the read
    /// lock): no record ids or hashes, reasons, grant ids, emergency access ids or positions in the log.
    static func withoutIdentities(_ event: Healthledger_V1_AuditEvent) -> Healthledger_V1_ResearchEvent {
        var shown = Healthledger_V1_ResearchEvent()
        shown.sequence = event.sequence
        shown.timeUnixMs = roundedDown(event.timeUnixMs)
        shown.action = event.action
        shown.categories = event.categories
        shown.purpose = event.purpose
        shown.outcome = event.outcome
        shown.basis = event.basis
        shown.emergency = event.emergency
        shown.releasedRecordCount = UInt32(clamping: event.releasedRecords.count)
        return shown
    }

    /// `time` rounded down to the minute (also before 1970).
    static func roundedDown(_ time: Int64) -> Int64 {
        let remainder = time % timeGranularityMs
        return remainder < 0 ? time - remainder - timeGranularityMs : time - remainder
    }
}

/// One research feed stream's memory: its researcher's pseudonym scheme, the pseudonyms computed so far, and the
/// patients whose research read is already logged.
struct ResearchFeedSession {
    /// Pseudonyms remembered per stream before the cache is emptied, bounding a long stream's memory.
    static let pseudonymCacheLimit = 65_536

    let researcher: String
    let scheme: ResearchPseudonym
    private var pseudonyms: [String: String] = [:]
    /// Patients whose first event this stream sent, so their research read is already in their trail.
    var loggedPatients: Set<String> = []

    init(researcher: String, secret: [UInt8]) {
        self.researcher = researcher
        scheme = ResearchPseudonym(secret: secret, researcher: researcher)
    }

    /// The pseudonym of `principal` for this stream's researcher.
    mutating func pseudonym(of principal: String) -> String {
        if let known = pseudonyms[principal] { return known }
        if pseudonyms.count >= Self.pseudonymCacheLimit { pseudonyms.removeAll(keepingCapacity: true) }
        let pseudonym = scheme.pseudonym(of: principal)
        pseudonyms[principal] = pseudonym
        return pseudonym
    }
}
