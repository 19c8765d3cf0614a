import FHIRMapping
import HealthLedgerProtos
import LedgerDomain
import RPCCore

extension LedgerService {
    /// The largest Consent ProposeGrantsFromConsent reads: 1 MiB, far above any real Consent (a few KiB), so that
    /// parsing one never costs more than a Write chunk's memory.
    static let largestConsentBytes = 1 << 20

    /// Ledger.ProposeGrantsFromConsent: the grants a FHIR R4 Consent states, in the order to sign them, by
    /// `ConsentMapping`. It only translates, so it reads no ledger state and audits nothing; it still needs a
    /// session, so that the parser serves principals only and its calls are charged to them by the rate limit.
    public func proposeGrantsFromConsent(
        request: Healthledger_V1_ProposeGrantsFromConsentRequest, context: ServerContext
    ) async throws -> Healthledger_V1_ProposeGrantsFromConsentResponse {
        _ = try runtime.authenticate(context)
        if !request.unknownFields.isEmpty { throw InputValidation.invalid("request", "unknown fields") }
        guard request.consentJson.count <= Self.largestConsentBytes else {
            throw RPCError(
                .resourceExhausted,
                "consent_json: \(request.consentJson.count) bytes, above the limit of \(Self.largestConsentBytes)")
        }
        var response = Healthledger_V1_ProposeGrantsFromConsentResponse()
        response.grants = try ConsentMapping.grantProposals(from: request.consentJson)
        return response
    }
}
