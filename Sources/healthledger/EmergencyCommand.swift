import ArgumentParser
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos

/// `healthledger emergency`: break-glass access for a registered emergency clinician.
struct EmergencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emergency",
        abstract: "Open break-glass emergency access to a patient's records, without a grant.",
        discussion: """
            For clinicians the node's operator registered (serve --emergency-clinician).
            The access is signed with your identity, flagged in the patient's audit trail
            and shown to the patient at once; it opens only the node's emergency
            categories (by default allergies, medications, conditions, immunizations),
            never the sensitive ones, for at most the node's limit (default 8 hours).
            Then read with `healthledger query --purpose emergency`.

            Examples:
              healthledger emergency hl1q... --categories allergies,medications --reason "unconscious on arrival, ER bay 3"
              healthledger emergency hl1q... --categories allergies --reason "anaphylaxis" --for 30m --json
            """)

    @Argument(help: ArgumentHelp("Principal id of the patient.", valueName: "patient"))
    var patient: String
    @Option(name: .long, help: "Comma-separated data categories to open (required).")
    var categories: String
    @Option(name: .long, help: "Why access is needed; shown to the patient (required).")
    var reason: String
    @Option(name: .long, help: ArgumentHelp("How long the access stays open, e.g. 30m, 1h.", valueName: "duration"))
    var `for` = "1h"
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused = "only clinicians the node's operator registered may open emergency access (serve --emergency-clinician)"
        try await options.withClient(hints: hints) { client in
            let patient = try GrantCommand.principal(self.patient)
            let categories = try CommandLineVocabulary.categories(categories)
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw InvalidInput("the reason is empty", hint: "say why, e.g. --reason \"unconscious on arrival\"")
            }
            let duration = try CommandLineVocabulary.duration(`for`)
            let response = try await client.openEmergencyAccess(
                patient: patient, categories: categories, reason: reason, durationMs: duration)
            if options.json {
                CommandOutput.json([
                    "emergency_access_id": response.emergencyAccessId, "patient": patient,
                    "expires_at_unix_ms": response.expiresAtUnixMs, "block_height": response.receipt?.blockHeight ?? 0,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("emergency access id", response.emergencyAccessId), ("patient", patient),
                        ("open until", CommandLineVocabulary.display(unixMs: response.expiresAtUnixMs)),
                        ("block", "\(response.receipt?.blockHeight ?? 0)"),
                    ]).rendered())
                CommandOutput.note("read with: healthledger query --patient \(patient) --purpose emergency --categories \(self.categories)")
            }
        }
    }
}
