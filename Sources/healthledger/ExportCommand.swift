import ArgumentParser
import Foundation
import HealthLedgerClient
import HealthLedgerProtos
import RPCCore

/// `healthledger export --fhir`: the patient's copy of all their data, as a FHIR R4 Bundle.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export all your data (records, grants, audit trail) as a FHIR Bundle.",
        discussion: """
            Your own copy of everything the ledger holds about you (GDPR Article 15,
            HIPAA right of access): one FHIR R4 Bundle (JSON) with each record (as the
            FHIR resource it was written as, else a DocumentReference describing it),
            each grant as a Consent and each audit event as an AuditEvent. Only you can
            export your data; the export itself is audited before anything is sent, and
            its audit events are checked against the log. With --out the Bundle is
            written to a temporary file next to FILE and renamed at the end, so a failed
            export leaves no partial file; without it, it goes to stdout.

            Examples:
              healthledger export --fhir --out my-health-data.json
              healthledger export --fhir | jq '.entry | length'
            """)

    @Flag(name: .long, help: "Export as a FHIR R4 Bundle (JSON); the only format.")
    var fhir = false
    @Option(name: .long, help: "Principal id of the patient (default: you; only the patient may export).")
    var patient: String?
    @Option(name: .long, help: "Write the Bundle to this file (default: stdout).", completion: .file())
    var out: String?
    @OptionGroup var options: ClientOptions

    func validate() throws {
        guard fhir else { throw ValidationError("choose the export format: --fhir") }
    }

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused = "only the patient may export their data; run this with the patient's identity"
        try await options.withClient(hints: hints) { client in
            let patient = try self.patient.map { try GrantCommand.principal($0) }
            let destination = try ExportDestination(path: out)
            do {
                let summary = try await Self.export(
                    patient: patient, with: client, to: destination, quiet: options.json)
                try destination.commit()
                if options.json {
                    var object: [String: Any] = [
                        "records": summary.records, "consents": summary.consents, "audit_events": summary.auditEvents,
                        "size_bytes": summary.bytes, "audit_sequences": summary.auditSequences,
                    ]
                    if let out { object["file"] = out }
                    CommandOutput.json(object)
                } else {
                    CommandOutput.note(
                        "exported \(summary.records) records, \(summary.consents) consents and \(summary.auditEvents) "
                            + "audit events (\(summary.bytes) bytes)\(out.map { " to \($0)" } ?? ""); audited as event "
                            + summary.auditSequences.map(String.init).joined(separator: ", "))
                }
            } catch {
                destination.discard()
                throw error
            }
        }
    }

    /// What an export held.
    struct Summary {
        var records: UInt64 = 0
        var consents: UInt64 = 0
        var auditEvents: UInt64 = 0
        var bytes: UInt64 = 0
        var auditSequences: [UInt64] = []
    }

    /// Streams the Bundle into `destination`, showing progress on stderr unless `quiet`.
    static func export(
        patient: String?, with client: LedgerClient<some ClientTransport>, to destination: ExportDestination,
        quiet: Bool
    ) async throws -> Summary {
        var summary = Summary()
        var progress: ProgressBar?
        var entries: UInt64 = 0
        var previousByte: UInt8 = 0
        for try await message in try await client.exportFhirBundle(patient: patient) {
            switch message.part {
            case .started(let started)?:
                summary.records = started.recordCount
                summary.consents = started.consentCount
                summary.auditEvents = started.auditEventCount
                summary.auditSequences = started.auditEvents.compactMap { $0.event?.sequence }
                progress = ProgressBar(
                    total: started.recordCount + started.consentCount + started.auditEventCount, label: "export",
                    unit: "entries", hidden: quiet)
            case .bundleChunk(let chunk)?:
                try destination.write(chunk)
                summary.bytes += UInt64(chunk.count)
                // Each entry starts a line with {"resource": (only a rough count, for the progress bar).
                for byte in chunk {
                    if previousByte == UInt8(ascii: "\n") && byte == UInt8(ascii: "{") { entries += 1 }
                    previousByte = byte
                }
                progress?.update(entries)
            case nil: break
            }
        }
        progress?.finish()
        guard summary.bytes > 0 else {
            throw CommandFailure(
                .failure, "the node sent no Bundle", hint: "try again; if it persists, report it to the node's operator"
            )
        }
        return summary
    }
}

/// Where an export goes: stdout, or a temporary file beside the destination that is renamed onto it once the
/// whole Bundle is written (and removed when the export fails).
struct ExportDestination {
    private let path: String?
    private let temporaryPath: String?
    private let handle: FileHandle

    init(path: String?) throws {
        self.path = path
        guard let path else {
            temporaryPath = nil
            handle = FileHandle.standardOutput
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
            .path
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else {
            throw CommandFailure(
                .failure, "cannot write \(temporary)",
                hint: "check that --out names a file in a directory you may write to")
        }
        temporaryPath = temporary
        self.handle = handle
    }

    /// Appends Bundle text.
    func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: Data(bytes))
    }

    /// Makes the written Bundle the destination file (fsynced first, so a crash leaves the old file or the new one).
    func commit() throws {
        guard let path, let temporaryPath else { return }
        try handle.synchronize()
        try handle.close()
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw CommandFailure(
                .failure, "cannot rename the export onto \(path): \(reason)",
                hint: "check that --out names a file you may replace")
        }
    }

    /// Removes the temporary file of a failed export.
    func discard() {
        guard let temporaryPath else { return }
        try? handle.close()
        unlink(temporaryPath)
    }
}
