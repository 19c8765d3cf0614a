// The HealthLedgerClient library end to end: a patient and a clinician, a grant, a record, a query, a revocation
// and the audit trail that logged every decision. Run a node first (`scripts/serve`), then
// `swift run ledger-client-example [host:port[,host:port...]] [ca.pem]` (several nodes of one cluster: the client
// moves on to the next when one cannot serve).
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import RPCCore

let arguments = CommandLine.arguments.dropFirst()
let server = arguments.first ?? ProcessInfo.processInfo.environment["HEALTHLEDGER_SERVER"] ?? "127.0.0.1:7443"
// A node on its default data directory keeps its development CA there; a production node's certificate chains to
// a CA in the system trust store, which nil selects.
let defaultCA =
    (ProcessInfo.processInfo.environment["XDG_DATA_HOME"].map { $0 + "/healthledger" }
        ?? NSHomeDirectory() + "/.local/share/healthledger") + "/tls/ca.pem"
let trustRoots =
    arguments.dropFirst().first ?? (FileManager.default.isReadableFile(atPath: defaultCA) ? defaultCA : nil)

let endpoints = server.split(separator: ",").compactMap { address -> ClientEndpoint? in
    let address = address.trimmingCharacters(in: .whitespaces)
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        return nil
    }
    return ClientEndpoint(host: String(address[..<colon]), port: port)
}
guard !endpoints.isEmpty, endpoints.count == server.split(separator: ",").count else {
    FileHandle.standardError.write(Data("usage: ledger-client-example [host:port[,host:port...]] [ca.pem]\n".utf8))
    exit(64)
}
var configuration = ClientConfiguration(host: endpoints[0].host, port: endpoints[0].port)
configuration.tls = TLSClientConfiguration(trustRootsPEMPath: trustRoots)
// One connection (per node) serves both principals: identity is per call (signed transactions, session tokens), not
// per socket. With one node the failover transport is exactly that node's HTTP2ClientTransport.
let transport = try FailoverClientTransport(endpoints: endpoints, configuration: configuration)

/// The story, from both principals to the audit trail. A function rather than top-level code: Swift 6.3 never
/// releases some of the strings that top-level async code interpolates between suspension points, which
/// LeakSanitizer reports when the example exits.
func tellStory(on transport: FailoverClientTransport) async throws {
    // Identities are created in memory here; `IdentityFile.save(_:to:)` and `IdentityFile.load(from:)` keep them in
    // files the `healthledger` command reads too.
    let patient = LedgerClient(transport: transport, identity: LedgerIdentity.generate())
    let clinician = LedgerClient(transport: transport, identity: LedgerIdentity.generate(.ecdsaP256))
    let patientID = await patient.identity.id
    let clinicianID = await clinician.identity.id
    print("patient    \(patientID)")
    print("clinician  \(clinicianID)")

    let content = Array(#"{"hba1c": 5.4}"#.utf8)
    let written = try await patient.write(
        patient: patientID, category: .labs, content: content, mediaType: "application/json")
    print("wrote      record \(written.recordId) in block \(written.receipt?.blockHeight ?? 0)")

    var grant = Healthledger_V1_Grant()
    grant.grantee = clinicianID
    grant.actions = [.read]
    grant.categories = [.labs]
    grant.purposes = [.treatment]
    grant.effect = .permit
    grant.validUntilUnixMs = LedgerClient<FailoverClientTransport>.now() + 3_600_000  // one hour
    let granted = try await patient.grant(grant)
    print("granted    \(granted.grantId)")

    var query = Healthledger_V1_QueryRequest()
    query.patient = patientID
    query.categories = [.labs]
    query.purpose = .treatment
    query.includeContent = true
    let released = try await clinician.query(query)
    for (record, body) in released.records {
        print("read       \(record.recordId): \(String(decoding: body, as: UTF8.self))")
    }

    _ = try await patient.revoke(grantID: granted.grantId)
    print("revoked    \(granted.grantId)")
    do {
        _ = try await clinician.query(query)
        print("error: the query after the revocation was allowed")
        exit(1)
    } catch let error as RPCError where error.code == .permissionDenied {
        print("denied     \(error.code)")
    }

    // Without `follow` the stream ends after the events committed so far.
    var audit = Healthledger_V1_AuditStreamRequest()
    audit.patient = patientID
    audit.startSequence = 1
    for try await message in try await patient.auditStream(audit) {
        guard case .event(let logged)? = message.item, let event = logged.event else { continue }
        let actor = event.actor == clinicianID ? "clinician" : event.actor
        let outcome = event.outcome == .allowed ? "allowed" : "denied"
        print("audit      #\(event.sequence) \(actor) \(outcome), \(event.releasedRecords.count) record(s) released")
    }
}

do {
    try await tellStory(on: transport)
} catch {
    await transport.close()
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
await transport.close()
