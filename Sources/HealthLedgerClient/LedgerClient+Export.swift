import HealthLedgerProtos
import RPCCore

extension LedgerClient {
    /// Exports a patient's data (by default this principal's own; the node refuses anyone else's with
    /// PERMISSION_DENIED) as a FHIR R4 Bundle (Ledger.ExportFhirBundle): the stream's first message
    /// is the `started` one, then the Bundle's text in pieces. Unless verification is off, the export's audit events
    /// must each come with a proof that they are in the log before any piece is accepted: iterating throws
    /// `HistoryVerificationError` otherwise. Returns once the first message has arrived: until then the export is
    /// asked for again after UNAVAILABLE, and with a new session when the node does not know the token.
    public func exportFhirBundle(patient: String? = nil) async throws
        -> ResponseStream<Healthledger_V1_ExportFhirBundleResponse>
    {
        var request = Healthledger_V1_ExportFhirBundleRequest()
        request.patient = patient ?? identity.id
        let stub = self.stub
        let stream = try await openPrivateStream { [request] options in
            try await stub.exportFhirBundle(request, options: options)
        }
        guard verification.isEnabled else { return stream }
        return ResponseStream(VerifiedExportMessages(base: stream, client: self), metadata: stream.metadata)
    }
}

/// An export stream whose opening audit events are checked before its Bundle text is let through.
struct VerifiedExportMessages<Transport: ClientTransport>: AsyncSequence, Sendable {
    typealias Element = Healthledger_V1_ExportFhirBundleResponse
    let base: ResponseStream<Healthledger_V1_ExportFhirBundleResponse>
    let client: LedgerClient<Transport>

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), client: client) }

    struct Iterator: AsyncIteratorProtocol {
        var base: ResponseStream<Healthledger_V1_ExportFhirBundleResponse>.AsyncIterator
        let client: LedgerClient<Transport>
        var verified = false

        mutating func next() async throws -> Healthledger_V1_ExportFhirBundleResponse? {
            guard let message = try await base.next() else { return nil }
            switch message.part {
            case .started(let started)?:
                guard !verified, !started.auditEvents.isEmpty else {
                    throw HistoryVerificationError(.malformed, "the export's answer carries no audit event")
                }
                for logged in started.auditEvents { try await client.verify(logged) }
                verified = true
            case .bundleChunk?:
                guard verified else {
                    throw HistoryVerificationError(.malformed, "Bundle text came before the export's audit events")
                }
            case nil: break
            }
            return message
        }
    }
}
