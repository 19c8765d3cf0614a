import ArgumentParser
import FHIRMapping
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto

/// `healthledger grant`: a patient (or delegate) permits or denies a grantee access.
struct GrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Grant (or, with --deny, refuse) a principal access to a patient's records.",
        discussion: """
            Signed with your identity and committed to the ledger; decisions made after it
            returns see it. Categories: demographics, conditions, medications, allergies,
            labs, imaging, vitals, immunizations, procedures, clinical-notes,
            mental-health, sexual-health, substance-use, genomics, all ("all" never covers
            the sensitive four: mental-health, sexual-health, substance-use, genomics).
            Actions: read, write, audit-read, delegate. Purposes: treatment, emergency,
            research, payment, operations, patient-request. Durations: 90s, 30m, 1h,
            1h30m, 7d, 2w.

            --from-fhir reads a FHIR R4 Consent (JSON), e.g. one drafted in an EHR, and
            signs the grants it states: one per provision, nested deny exceptions
            first (docs/FHIR.md, "Importing a Consent"). --dry-run only prints them.

            Examples:
              healthledger grant hl1q... --actions read --categories labs,vitals --for 30d
              healthledger grant hl1q... --actions read,write --categories all --until 2026-12-31
              healthledger grant hl1q... --actions read --categories mental-health --deny
              healthledger grant '*' --categories genomics --purpose research --deny
              healthledger grant --from-fhir consent.json --dry-run
            """)

    @Argument(help: ArgumentHelp("Principal id of the grantee, or \"*\" for everyone.", valueName: "grantee"))
    var grantee: String?
    @Option(name: .long, help: "Comma-separated actions (default: read).")
    var actions: String?
    @Option(name: .long, help: "Comma-separated data categories (required).")
    var categories: String?
    @Option(name: .long, help: ArgumentHelp("How long the grant lasts, e.g. 1h, 30d.", valueName: "duration"))
    var `for`: String?
    @Option(name: .long, help: ArgumentHelp("When the grant ends, ISO 8601 (a date alone: the end of that day, UTC).", valueName: "time"))
    var until: String?
    @Option(name: .long, help: "Comma-separated purposes of use (default: treatment).")
    var purpose: String?
    @Flag(name: .long, help: "Record a DENY instead of a permit (deny overrides permit).")
    var deny = false
    @Option(name: .long, help: "Patient the grant is for, when you sign as their delegate (default: you).")
    var patient: String?
    @Option(name: .long, help: "Id of the delegation grant you act under, when signing for another patient.")
    var delegationGrant: String?
    @Option(name: .long, help: "A note stored with the grant.")
    var note = ""
    @Option(
        name: .customLong("from-fhir"),
        help: ArgumentHelp(
            "Sign the grants a FHIR R4 Consent (JSON file) states, instead of the options above.", valueName: "file"),
        completion: .file(extensions: ["json"]))
    var fromFHIR: String?
    @Flag(name: .long, help: "With --from-fhir: print the grants without signing or submitting them.")
    var dryRun = false
    @OptionGroup var options: ClientOptions

    func validate() throws {
        if fromFHIR != nil {
            let conflicting = [
                ("<grantee>", grantee != nil), ("--actions", actions != nil), ("--categories", categories != nil),
                ("--for", `for` != nil), ("--until", until != nil), ("--purpose", purpose != nil), ("--deny", deny),
                ("--patient", patient != nil), ("--note", !note.isEmpty),
            ].filter(\.1).map(\.0)
            if let first = conflicting.first {
                throw ValidationError("\(first) cannot be combined with --from-fhir: the consent states the grant")
            }
            return
        }
        if dryRun { throw ValidationError("--dry-run goes with --from-fhir") }
        if grantee == nil { throw ValidationError("missing the grantee (a principal id, or \"*\")") }
        if categories == nil { throw ValidationError("missing --categories") }
        if `for` != nil && until != nil { throw ValidationError("give --for or --until, not both") }
    }

    func run() async throws {
        if let fromFHIR { return try await importConsent(fromFHIR) }
        var hints = CommandFailure.Hints()
        hints.refused = "only the patient, or a delegate acting with --patient and --delegation-grant, may grant"
        try await options.withClient(hints: hints) { client in
            var grant = Healthledger_V1_Grant()
            grant.grantee = try Self.principal(grantee ?? "", allowEveryone: true)
            grant.actions = try CommandLineVocabulary.actions(actions ?? "read")
            grant.categories = try CommandLineVocabulary.categories(categories ?? "")
            grant.purposes = try CommandLineVocabulary.purposes(purpose ?? "treatment")
            grant.effect = deny ? .deny : .permit
            grant.note = note
            if let patient { grant.patient = try Self.principal(patient) }
            grant.delegationGrantId = delegationGrant
            if let duration = `for` {
                grant.validUntilUnixMs = LedgerClient<HTTP2ClientTransport>.now() + (try CommandLineVocabulary.duration(duration))
            } else if let until {
                grant.validUntilUnixMs = try CommandLineVocabulary.instant(until)
            }
            let response = try await client.grant(grant)
            let until = grant.validUntilUnixMs.map(CommandLineVocabulary.display(unixMs:)) ?? "until revoked"
            if options.json {
                var object: [String: Any] = [
                    "grant_id": response.grantId, "block_height": response.receipt?.blockHeight ?? 0,
                    "effect": deny ? "deny" : "permit",
                ]
                if let end = grant.validUntilUnixMs { object["valid_until_unix_ms"] = end }
                CommandOutput.json(object)
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("grant id", response.grantId), ("effect", deny ? "deny" : "permit"), ("valid", until),
                        ("block", "\(response.receipt?.blockHeight ?? 0)"),
                    ]).rendered())
            }
        }
    }

    /// `--from-fhir`: maps the Consent in `path` to grants, prints them, and unless `--dry-run` signs and submits
    /// each in the order the mapping gives (deny exceptions before the permit they carve out of).
    private func importConsent(_ path: String) async throws {
        if dryRun {
            try await reportingFailures {
                let proposals = try Self.proposals(fromFHIRFile: path, delegationGrant: delegationGrant)
                for (index, proposal) in proposals.enumerated() {
                    report(proposal, index: index, grantID: nil, blockHeight: nil)
                }
            }
            return
        }
        var hints = CommandFailure.Hints()
        hints.refused = "only the consent's patient, or their delegate with --delegation-grant, may sign it"
        try await options.withClient(hints: hints) { client in
            let proposals = try Self.proposals(fromFHIRFile: path, delegationGrant: delegationGrant)
            let signer = await client.identity.id
            if let foreign = proposals.first(where: { $0.patient != signer && $0.delegationGrantId == nil }) {
                throw CommandFailure(
                    .refused, "the consent is for patient \(foreign.patient), but you sign as \(signer)",
                    hint: "sign with the patient's identity, or as their delegate with --delegation-grant")
            }
            for (index, proposal) in proposals.enumerated() {
                let response = try await client.grant(proposal)
                let blockHeight = response.receipt?.blockHeight ?? 0
                report(proposal, index: index, grantID: response.grantId, blockHeight: blockHeight)
            }
        }
    }

    /// The grants the Consent file at `path` states, principal ids checked, with `delegationGrant` (when given) as
    /// the delegation each is signed under.
    static func proposals(fromFHIRFile path: String, delegationGrant: String?) throws -> [Healthledger_V1_Grant] {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(.notFound, "cannot read \(path)", hint: "check the path of the Consent JSON file")
        }
        var proposals: [Healthledger_V1_Grant]
        do {
            proposals = try ConsentMapping.grantProposals(from: Array(bytes))
        } catch {
            throw InvalidInput(
                "\(path): \(error.message)",
                hint: "docs/FHIR.md (\"Importing a Consent\") lists what a Consent may state and how")
        }
        for index in proposals.indices {
            proposals[index].patient = try principal(proposals[index].patient)
            proposals[index].grantee = try principal(proposals[index].grantee, allowEveryone: true)
            if let delegationGrant { proposals[index].delegationGrantId = delegationGrant }
        }
        return proposals
    }

    /// Prints one proposed (or, with an id, submitted) grant: a field list, or a JSON line with --json.
    private func report(_ grant: Healthledger_V1_Grant, index: Int, grantID: String?, blockHeight: UInt64?) {
        let effect = grant.effect == .deny ? "deny" : "permit"
        let actions = grant.actions.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.actions) }
        let categories = grant.categories.map {
            CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories)
        }
        let purposes = grant.purposes.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.purposes) }
        let range = grant.recordDateRange
        if options.json {
            var object: [String: Any] = [
                "effect": effect, "patient": grant.patient, "grantee": grant.grantee, "actions": actions,
                "categories": categories, "purposes": purposes, "valid_from_unix_ms": grant.validFromUnixMs,
            ]
            if let grantID { object["grant_id"] = grantID }
            if let blockHeight { object["block_height"] = blockHeight }
            if let end = grant.validUntilUnixMs { object["valid_until_unix_ms"] = end }
            if let from = range?.fromUnixMs { object["record_dates_from_unix_ms"] = from }
            if let until = range?.untilUnixMs { object["record_dates_until_unix_ms"] = until }
            if let delegation = grant.delegationGrantId { object["delegation_grant_id"] = delegation }
            if !grant.note.isEmpty { object["note"] = grant.note }
            CommandOutput.json(object)
            return
        }
        let from =
            grant.validFromUnixMs > 0 ? CommandLineVocabulary.display(unixMs: grant.validFromUnixMs) : "from commit"
        let until = grant.validUntilUnixMs.map(CommandLineVocabulary.display(unixMs:)) ?? "until revoked"
        var fields: [(name: String, value: String)] = []
        if let grantID { fields.append(("grant id", grantID)) }
        fields += [
            ("effect", effect), ("patient", grant.patient), ("grantee", grant.grantee),
            ("actions", actions.joined(separator: ",")), ("categories", categories.joined(separator: ",")),
            ("purposes", purposes.joined(separator: ",")), ("valid", "\(from) to \(until)"),
        ]
        if let range {
            let start = range.fromUnixMs.map(CommandLineVocabulary.display(unixMs:)) ?? "any date"
            let end = range.untilUnixMs.map(CommandLineVocabulary.display(unixMs:)) ?? "any date"
            fields.append(("record dates", "\(start) to \(end)"))
        }
        if let delegation = grant.delegationGrantId { fields.append(("delegation", delegation)) }
        if !grant.note.isEmpty { fields.append(("note", grant.note)) }
        if let blockHeight { fields.append(("block", "\(blockHeight)")) }
        CommandOutput.write((index > 0 ? "\n" : "") + FieldList(fields: fields).rendered())
    }

    /// `text` checked as a principal id (or "*" when allowed), so a typo fails here with a clear message.
    static func principal(_ text: String, allowEveryone: Bool = false) throws -> String {
        if allowEveryone && text == "*" { return text }
        do {
            return try PrincipalID(parsing: text).text
        } catch {
            throw InvalidInput(
                "bad principal id \"\(text)\": \(error)",
                hint: "copy it exactly from `healthledger whoami` of its owner (hl1 and 38 more characters)")
        }
    }
}

/// `healthledger revoke`: ends a grant.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a grant; every decision after this returns sees it revoked.",
        discussion: """
            Examples:
              healthledger revoke 3f1c...e9
              healthledger grants --given --json | jq -r .grant_id | xargs -n1 healthledger revoke
            """)

    @Argument(help: ArgumentHelp("Id of the grant (64 hex characters, from `grant` or `grants`).", valueName: "grant-id"))
    var grantID: String
    @Option(name: .long, help: "Id of the delegation grant you act under, when revoking for another patient.")
    var delegationGrant: String?
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.notFound = "`healthledger grants --given` lists the ids of your grants"
        hints.precondition = "the grant is already revoked (`healthledger grants --given --all` shows its state)"
        hints.refused = "only the grant's patient, or their delegate with --delegation-grant, may revoke it"
        try await options.withClient(hints: hints) { client in
            guard grantID.count == 64, grantID.allSatisfy(\.isHexDigit) else {
                throw InvalidInput(
                    "bad grant id \"\(grantID)\"", hint: "a grant id is 64 hex characters; `healthledger grants` lists them")
            }
            let response = try await client.revoke(grantID: grantID.lowercased(), delegationGrantID: delegationGrant)
            if options.json {
                CommandOutput.json([
                    "grant_id": grantID.lowercased(), "revoked": true, "block_height": response.receipt?.blockHeight ?? 0,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("revoked", grantID.lowercased()), ("block", "\(response.receipt?.blockHeight ?? 0)"),
                    ]).rendered())
            }
        }
    }
}

/// `healthledger grants`: lists grants you gave or received.
struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants",
        abstract: "List grants you gave (as patient) or received (as grantee).",
        discussion: """
            Without --given or --received, lists both. Active grants only, unless --all.

            Examples:
              healthledger grants
              healthledger grants --given --all
              healthledger grants --received --json
            """)

    @Flag(name: .long, help: "Only grants on your records.")
    var given = false
    @Flag(name: .long, help: "Only grants to you.")
    var received = false
    @Flag(name: .long, help: "Also pending, expired and revoked grants.")
    var all = false
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client in
            let me = await client.identity.id
            var found: [Healthledger_V1_GrantRecord] = []
            var seen = Set<String>()
            let queries = [(patient: me, grantee: "", wanted: given || !received), ("", me, received || !given)]
            for (patient, grantee, wanted) in queries where wanted {
                var request = Healthledger_V1_ListGrantsRequest()
                request.patient = patient
                request.grantee = grantee
                request.includeInactive = all
                request.pageSize = 1000
                let stub = client.stub
                repeat {
                    let page = try await client.withSession { [request] options in
                        try await stub.listGrants(request, options: options)
                    }
                    for grant in page.grants where seen.insert(grant.grantId).inserted { found.append(grant) }
                    request.pageToken = page.nextPageToken
                } while !request.pageToken.isEmpty
            }
            if options.json {
                for grant in found { CommandOutput.json(Self.object(grant)) }
                return
            }
            var table = TextTable(header: [
                "GRANT ID", "PATIENT", "GRANTEE", "EFFECT", "ACTIONS", "CATEGORIES", "PURPOSES", "UNTIL", "STATE",
            ])
            for record in found {
                let grant = record.grant ?? Healthledger_V1_Grant()
                table.rows.append([
                    record.grantId, grant.patient, grant.grantee, grant.effect == .deny ? "deny" : "permit",
                    grant.actions.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.actions) }
                        .joined(separator: ","),
                    grant.categories.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories) }
                        .joined(separator: ","),
                    grant.purposes.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.purposes) }
                        .joined(separator: ","),
                    grant.validUntilUnixMs.map(CommandLineVocabulary.display(unixMs:)) ?? "-",
                    Self.stateName(record.state),
                ])
            }
            if found.isEmpty { CommandOutput.note("no grants") } else { CommandOutput.write(table.rendered()) }
        }
    }

    static func stateName(_ state: Healthledger_V1_GrantState) -> String {
        switch state {
        case .pending: "pending"
        case .active: "active"
        case .expired: "expired"
        case .revoked: "revoked"
        default: "unknown"
        }
    }

    static func object(_ record: Healthledger_V1_GrantRecord) -> [String: Any] {
        let grant = record.grant ?? Healthledger_V1_Grant()
        var object: [String: Any] = [
            "grant_id": record.grantId, "patient": grant.patient, "grantee": grant.grantee, "author": record.author,
            "effect": grant.effect == .deny ? "deny" : "permit", "state": stateName(record.state),
            "actions": grant.actions.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.actions) },
            "categories": grant.categories.map {
                CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories)
            },
            "purposes": grant.purposes.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.purposes) },
            "created_at_unix_ms": record.createdAtUnixMs,
        ]
        if let until = grant.validUntilUnixMs { object["valid_until_unix_ms"] = until }
        if let revokedAt = record.revokedAtUnixMs { object["revoked_at_unix_ms"] = revokedAt }
        return object
    }
}
