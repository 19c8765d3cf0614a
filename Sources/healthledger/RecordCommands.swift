import ArgumentParser
import FHIRMapping
import Foundation
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto

/// `healthledger write`: adds a record to a patient's data.
struct WriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write a record (a file, or stdin) for a patient.",
        discussion: """
            The record's metadata is signed with your identity and committed; its content
            is stored encrypted off-chain. You need a WRITE grant for the patient and
            category, unless you are the patient. Any size: a file is hashed, then
            streamed in 1 MiB chunks; stdin is first copied to a private temporary
            file ($TMPDIR, removed at once). For many files, see healthledger import.

            With --fhir (or the media type application/fhir+json) the file is one FHIR R4
            resource in JSON. It is checked before anything is signed: valid JSON, a known
            resourceType, one the category may hold. The category may then be left out
            when the resourceType fits only one (Patient: demographics).

            Examples:
              healthledger write --category labs results.json
              healthledger write --patient hl1q... --category imaging scan.dcm
              healthledger write --fhir --category labs potassium.json
              healthledger write --fhir allergy-penicillin.json
              cat note.txt | healthledger write --category clinical-notes --media-type text/plain -
            """)

    @Option(name: .long, help: "Principal id of the patient (default: you).")
    var patient: String?
    @Option(
        name: .long,
        help: "The record's data category, e.g. labs (FHIR content: default, the one its resourceType fits).",
        completion: .list(CommandLineVocabulary.categories.dropLast().map(\.name)))
    var category: String?
    @Flag(name: .long, help: "The file is a FHIR R4 resource in JSON (media type application/fhir+json).")
    var fhir = false
    @Option(name: .long, help: "Media type (default: from the file extension, else application/octet-stream).")
    var mediaType: String?
    @Option(name: .long, help: "Id of the record this one amends.")
    var amends: String?
    @Argument(help: ArgumentHelp("File to write, or - for stdin.", valueName: "file"), completion: .file())
    var file = "-"
    @OptionGroup var options: ClientOptions

    /// The media type sent: --media-type, else FHIR JSON with --fhir, else the one the file extension suggests.
    var effectiveMediaType: String {
        mediaType ?? (fhir ? FHIRRecordContentCheck.mediaType : Self.mediaType(forFile: file))
    }

    func validate() throws {
        if fhir, let mediaType, !FHIRRecordContentCheck.isFHIRJSON(mediaType) {
            throw ValidationError("--fhir means --media-type application/fhir+json, not \(mediaType)")
        }
        if category == nil && !FHIRRecordContentCheck.isFHIRJSON(effectiveMediaType) {
            throw ValidationError("--category is required unless the file is a FHIR resource (--fhir)")
        }
    }

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused =
            "ask the patient for a write grant: healthledger grant <your id> --actions write --categories \(category ?? "<category>")"
        try await options.withClient(hints: hints) { client in
            var category = try self.category.map { text throws(InvalidInput) in
                try CommandLineVocabulary.category(text)
            }
            let me = await client.identity.id
            let patient = try patient.map { try GrantCommand.principal($0) } ?? me
            let mediaType = effectiveMediaType
            // A file is hashed in a first pass, then streamed; stdin is spooled to a private, already
            // unlinked temporary file on the way, so memory stays bounded for any size.
            let content = try file == "-"
                ? RecordContentFile.spooling(from: STDIN_FILENO, directory: Self.spoolDirectory)
                : RecordContentFile(path: file)
            if FHIRRecordContentCheck.isFHIRJSON(mediaType) {
                category = try Self.checkFHIR(
                    content, named: file == "-" ? "stdin" : file, mediaType: mediaType, category: category)
            }
            guard let category else {
                preconditionFailure("validate() requires --category for content that is not FHIR")
            }
            let response = try await client.write(
                patient: patient, category: category, content: content, mediaType: mediaType, amends: amends)
            if options.json {
                CommandOutput.json([
                    "record_id": response.recordId, "patient": patient, "size_bytes": content.sizeBytes,
                    "content_sha256": Hex.encode(content.sha256), "block_height": response.receipt?.blockHeight ?? 0,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("record id", response.recordId), ("patient", patient), ("size", "\(content.sizeBytes) bytes"),
                        ("block", "\(response.receipt?.blockHeight ?? 0)"),
                    ]).rendered())
            }
        }
    }

    /// Checks FHIR content as the node will, before it is signed: one R4 resource whose resourceType `category`
    /// may hold. Returns the category, the one the resourceType fits when `category` is nil.
    static func checkFHIR(
        _ content: RecordContentFile, named name: String, mediaType: String, category: Healthledger_V1_DataCategory?
    ) throws -> Healthledger_V1_DataCategory {
        do {
            _ = try FHIRRecordContentCheck(
                mediaType: mediaType, category: category ?? .unspecified, field: "--media-type")
        } catch {
            throw InvalidInput(error.message, hint: "use --media-type application/fhir+json; fhirVersion=4.0")
        }
        var inspector = FHIRContentInspector()
        let resourceType: String
        do {
            var offset: UInt64 = 0
            while offset < content.sizeBytes {
                let chunk = try content.contentChunk(at: offset)
                try inspector.inspect(chunk)
                offset += UInt64(chunk.count)
            }
            resourceType = try inspector.finish()
        } catch let error as FHIRContentError {
            throw InvalidInput(
                "\(name) is not one FHIR resource: \(error)",
                hint: "a FHIR record is one R4 resource in JSON, an object with a resourceType")
        }
        let fitting = FHIRVocabulary.categories(holding: resourceType)
        let names = fitting.map { CommandLineVocabulary.name(of: $0, in: CommandLineVocabulary.categories) }
        if let category {
            if let mismatch = FHIRRecordContentCheck.categoryMismatch(resourceType, category) {
                throw InvalidInput(
                    "\(name): \(mismatch.message)",
                    hint: names.isEmpty
                        ? "write a resource type the category holds (docs/FHIR.md)" : "use --category \(names[0])")
            }
            return category
        }
        guard fitting.count == 1 else {
            throw InvalidInput(
                fitting.isEmpty
                    ? "\(name): no category holds \(resourceType) resources"
                    : "\(name): \(resourceType) fits \(names.count) categories: \(names.joined(separator: ", "))",
                hint: fitting.isEmpty
                    ? "write a resource type a category holds (docs/FHIR.md)"
                    : "say which with --category, e.g. --category \(names[0])")
        }
        return fitting[0]
    }

    /// Where standard input is spooled: $TMPDIR, else /tmp.
    static var spoolDirectory: String {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        return directory.isEmpty ? "/tmp" : directory
    }

    /// A media type for common health-data file extensions.
    static func mediaType(forFile file: String) -> String {
        let types = [
            "json": "application/json", "xml": "application/xml", "pdf": "application/pdf", "txt": "text/plain",
            "csv": "text/csv", "dcm": "application/dicom", "png": "image/png", "jpg": "image/jpeg",
            "jpeg": "image/jpeg", "vcf": "text/vcf", "fhir": "application/fhir+json",
        ]
        guard let dot = file.lastIndex(of: "."), !file[dot...].contains("/") else { return "application/octet-stream" }
        return types[file[file.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}

/// `healthledger query`: reads a patient's records the policy lets you read.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Read a patient's records; every query, allowed or denied, is audited.",
        discussion: """
            Lists the records the policy releases to you; with --output, also saves each
            record's content as <dir>/<record-id> after checking its SHA-256. A denied
            query exits 2 and is audited too.

            Examples:
              healthledger query --patient hl1q... --categories labs
              healthledger query --patient hl1q... --categories labs,vitals --output ./records
              healthledger query --categories all --json
            """)

    @Option(name: .long, help: "Principal id of the patient (default: you).")
    var patient: String?
    @Option(name: .long, help: "Comma-separated categories; all means every non-sensitive one you may read.")
    var categories = "all"
    @Option(name: .long, help: "Why you read: treatment, emergency, research, payment, operations, patient-request.")
    var purpose = "treatment"
    @Option(name: .long, help: "Only this record (repeatable).")
    var record: [String] = []
    @Option(name: .long, help: "Most records to return (0: the node's default, 1000).")
    var max: UInt32 = 0
    @Option(name: .long, help: "Save content to this directory.", completion: .directory)
    var output: String?
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused = "the patient has not granted you read access to these categories for this purpose"
        try await options.withClient(hints: hints) { client in
            var request = Healthledger_V1_QueryRequest()
            let me = await client.identity.id
            request.patient = try patient.map { try GrantCommand.principal($0) } ?? me
            request.categories = try CommandLineVocabulary.categories(categories)
            let purposes = try CommandLineVocabulary.purposes(purpose)
            guard purposes.count == 1 else {
                throw InvalidInput("a query has exactly one purpose, got \"\(purpose)\"", hint: "pass one, e.g. --purpose treatment")
            }
            request.purpose = purposes[0]
            request.recordIds = record
            request.maxRecords = max
            request.includeContent = output != nil
            if let output {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            }
            let result = try await client.query(request)
            var table = TextTable(header: ["RECORD ID", "CATEGORY", "MEDIA TYPE", "SIZE", "AUTHOR", "WRITTEN"])
            for (record, content) in result.records {
                let metadata = record.metadata ?? Healthledger_V1_RecordMetadata()
                var saved: String?
                if let output, !record.contentErased {
                    guard SHA256.hash(content) == metadata.contentSha256 else {
                        throw CommandFailure(
                            .failure, "content of record \(record.recordId) does not match its hash",
                            hint: "query again; if it persists, report it to the node's operator")
                    }
                    let path = output + "/" + record.recordId
                    guard FileManager.default.createFile(atPath: path, contents: Data(content)) else {
                        throw CommandFailure(
                            .failure, "cannot write \(path)", hint: "check that --output is a directory you may write to")
                    }
                    saved = path
                }
                let category = CommandLineVocabulary.name(of: metadata.category, in: CommandLineVocabulary.categories)
                if options.json {
                    var object: [String: Any] = [
                        "record_id": record.recordId, "patient": metadata.patient, "category": category,
                        "media_type": metadata.mediaType, "size_bytes": metadata.sizeBytes, "author": record.author,
                        "created_at_unix_ms": record.createdAtUnixMs, "content_erased": record.contentErased,
                        "content_sha256": Hex.encode(metadata.contentSha256), "audit_sequence": result.auditSequence,
                    ]
                    if let saved { object["file"] = saved }
                    CommandOutput.json(object)
                } else {
                    table.rows.append([
                        record.recordId, category, metadata.mediaType,
                        record.contentErased ? "erased" : "\(metadata.sizeBytes)", record.author,
                        CommandLineVocabulary.display(unixMs: record.createdAtUnixMs),
                    ])
                }
            }
            if !options.json {
                if result.records.isEmpty { CommandOutput.note("no records") } else { CommandOutput.write(table.rendered()) }
                CommandOutput.note("audited as event \(result.auditSequence)")
            }
        }
    }
}
