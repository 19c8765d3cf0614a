import ArgumentParser
import HealthLedgerProtos
import RPCCore

/// `healthledger research-feed`: the pseudonymised audit events a registered researcher may study.
struct ResearchFeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "research-feed",
        abstract: "Show the research feed: audit events of opted-in patients, with pseudonyms instead of ids.",
        discussion: """
            Only for principals the node's operator registered as researchers
            (serve --researcher). Shows the events of patients who opted in to
            your feed (healthledger grant <you> --actions audit-read --purpose
            research --categories all), with every principal id replaced by a
            pseudonym ("ps-" and 32 hex digits) that stays the same for you and
            differs for other researchers, times rounded down to the minute, and
            no record ids. --follow keeps the stream open and prints events as
            they are committed (Ctrl-C ends it); with --json, each event is one
            JSON line.

            Examples:
              healthledger research-feed
              healthledger research-feed --follow
              healthledger research-feed --from 1200 --json
            """)

    @Option(name: .long, help: "First audit sequence number to show (1: everything; 0: only new events).")
    var from: UInt64 = 1
    @Flag(name: .long, help: "Keep printing new events as they are committed.")
    var follow = false
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused = "ask the node's operator to register your principal as a researcher (serve --researcher)"
        try await options.withClient(hints: hints) { client in
            var request = Healthledger_V1_ResearchFeedRequest()
            request.startSequence = from
            request.follow = follow
            let columns = [6, 20, 35, 35, 10, 7, 15, 17, 7]
            if !options.json {
                CommandOutput.write(
                    AuditCommand.row(
                        [
                            "SEQ", "MINUTE", "ACTOR", "PATIENT", "ACTION", "OUTCOME", "PURPOSE", "BASIS", "RECORDS",
                            "CATEGORIES",
                        ], columns))
            }
            var printed = 0
            while true {
                do {
                    let stream = try await client.stub.researchFeed(request, options: try await client.authenticated())
                    for try await message in stream {
                        guard case .event(let event)? = message.item else { continue }
                        request.startSequence = event.sequence + 1
                        printed += 1
                        if options.json {
                            CommandOutput.json(Self.object(event))
                        } else {
                            CommandOutput.write(AuditCommand.row(Self.cells(event), columns))
                        }
                    }
                    break
                } catch let error as RPCError where follow && error.code == .unauthenticated {
                    // The session expired mid-stream, or a restarted node does not know it: resume after the last
                    // event with a new one (the token kept would be refused again).
                    await client.forgetSession()
                    continue
                }
            }
            if printed == 0 && !options.json { CommandOutput.note("no research events") }
        }
    }

    static func cells(_ event: Healthledger_V1_ResearchEvent) -> [String] {
        [
            "\(event.sequence)", CommandLineVocabulary.display(unixMs: event.timeUnixMs), event.actorPseudonym,
            event.patientPseudonym, AuditCommand.actionName(event.action),
            event.outcome == .allowed ? "allowed" : "denied",
            CommandLineVocabulary.name(of: event.purpose, in: CommandLineVocabulary.purposes),
            AuditCommand.basisName(event.basis) + (event.emergency ? "!" : ""), "\(event.releasedRecordCount)",
            event.categories.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories) }
                .joined(separator: ","),
        ]
    }

    static func object(_ event: Healthledger_V1_ResearchEvent) -> [String: Any] {
        [
            "sequence": event.sequence, "time_unix_ms": event.timeUnixMs, "actor_pseudonym": event.actorPseudonym,
            "patient_pseudonym": event.patientPseudonym, "action": AuditCommand.actionName(event.action),
            "outcome": event.outcome == .allowed ? "allowed" : "denied",
            "purpose": CommandLineVocabulary.name(of: event.purpose, in: CommandLineVocabulary.purposes),
            "basis": AuditCommand.basisName(event.basis), "emergency": event.emergency,
            "categories": event.categories.map {
                CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories)
            },
            "released_record_count": event.releasedRecordCount,
        ]
    }
}
