import ArgumentParser
import Foundation
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore

/// One file an import writes, with what the record says about it.
struct ImportItem {
    /// The path as the journal keys it: relative to the directory, or as the manifest line names it.
    var path: String
    /// The path to open.
    var location: String
    /// The record's category, by its command-line name.
    var categoryName: String
    /// The record's category.
    var category: Healthledger_V1_DataCategory
    /// The record's media type.
    var mediaType: String
    /// The patient's principal id.
    var patient: String
}

/// `healthledger import`: writes many records, resumably, from a directory or a manifest.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write many records at once: every file in a directory, or the files a manifest lists.",
        discussion: """
            Each file becomes one record, written in name order, one after another. A
            journal (default <DIR>/.healthledger-import.jsonl, or beside the manifest)
            records every file the node acknowledged: running the same command again
            after Ctrl-C, a crash or a dropped connection resumes where it stopped and
            never imports a file twice. A file changed since it was imported is
            reported (exit 1), not imported again. Hidden files and subdirectories are
            skipped. The first file that fails stops the import with a one-line error
            naming it.

            A manifest has one JSON object per line, {"path": "a.json", "category":
            "labs", "media_type": "...", "patient": "hl1..."}; only path is required,
            the others default to the flags. Progress shows on stderr; with --json,
            one line per file and a summary line.

            Examples:
              healthledger import --category labs ./lab-results
              healthledger import --patient hl1q... --category imaging ./ct-study
              healthledger import --manifest records.jsonl --json
            """)

    @Option(name: .long, help: "Principal id of the patient (default: you).")
    var patient: String?
    @Option(
        name: .long, help: "The records' data category, e.g. labs (required unless every manifest line names one).",
        completion: .list(CommandLineVocabulary.categories.dropLast().map(\.name)))
    var category: String?
    @Option(name: .long, help: "Media type (default: from each file's extension, else application/octet-stream).")
    var mediaType: String?
    @Option(
        name: .long,
        help: ArgumentHelp("JSON lines naming the files to import, instead of a directory.", valueName: "file"),
        completion: .file(extensions: ["jsonl", "json"]))
    var manifest: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Journal file (default: <DIR>/.healthledger-import.jsonl, or beside the manifest).", valueName: "file"),
        completion: .file())
    var journal: String?
    @Argument(help: ArgumentHelp("Directory whose regular files to import.", valueName: "dir"), completion: .directory)
    var directory: String?
    @OptionGroup var options: ClientOptions

    func validate() throws {
        guard (directory == nil) != (manifest == nil) else {
            throw ValidationError("name either a directory or --manifest FILE")
        }
    }

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.refused =
            "ask the patient for a write grant: healthledger grant <your id> --actions write --categories \(category ?? "<category>")"
        try await options.withClient(hints: hints) { client in
            let me = await client.identity.id
            let defaultPatient = try patient.map { try GrantCommand.principal($0) } ?? me
            let items =
                try manifest.map { try Self.manifestItems($0, defaults: self, patient: defaultPatient) }
                ?? Self.directoryItems(directory!, defaults: self, patient: defaultPatient)
            let journalPath = journal ?? Self.defaultJournal(directory: directory, manifest: manifest)
            let journal = try ImportJournal(path: journalPath)
            // Ask the node first, so an unreachable node or wrong trust fails before the files are hashed.
            _ = try await client.chain()
            defer { journal.sync() }
            try await Self.importing(
                items, journal: journal, client: client, options: options, server: options.serverDescription, hints: hints)
        }
    }

    /// Where the journal goes when --journal is not given.
    static func defaultJournal(directory: String?, manifest: String?) -> String {
        if let directory { return directory + "/.healthledger-import.jsonl" }
        let manifestURL = URL(fileURLWithPath: manifest ?? ".")
        return manifestURL.deletingLastPathComponent().path + "/.healthledger-import.jsonl"
    }

    /// Every regular, not hidden file directly in `directory`, in byte order of their names.
    static func directoryItems(_ directory: String, defaults: ImportCommand, patient: String) throws -> [ImportItem] {
        guard let categoryName = defaults.category else {
            throw InvalidInput("importing a directory needs --category", hint: "pass e.g. --category labs")
        }
        let category = try CommandLineVocabulary.category(categoryName)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CommandFailure(
                .notFound, "cannot list the directory \(directory)", hint: "check the path and its permissions")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .compactMap { name in
                var status = stat()
                let location = directory + "/" + name
                guard stat(location, &status) != 0 || status.st_mode & S_IFMT == S_IFREG else { return nil }
                return ImportItem(
                    path: name, location: location, categoryName: categoryName, category: category,
                    mediaType: defaults.mediaType ?? WriteCommand.mediaType(forFile: name), patient: patient)
            }
    }

    /// The files a manifest lists, one JSON object per line; relative paths are relative to the manifest.
    static func manifestItems(_ manifest: String, defaults: ImportCommand, patient: String) throws -> [ImportItem] {
        guard let data = FileManager.default.contents(atPath: manifest) else {
            throw CommandFailure(
                .notFound, "cannot read the manifest \(manifest)", hint: "check the path and its permissions")
        }
        let base = URL(fileURLWithPath: manifest).deletingLastPathComponent().path
        var items: [ImportItem] = []
        var seen: Set<String> = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            let number = index + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                let path = object["path"] as? String, !path.isEmpty
            else {
                throw InvalidInput(
                    "\(manifest) line \(number) is not a JSON object with a \"path\"",
                    hint: "write one object per line: {\"path\": \"a.json\", \"category\": \"labs\"}")
            }
            guard seen.insert(path).inserted else {
                throw InvalidInput(
                    "\(manifest) line \(number) lists \(path) a second time", hint: "list each file once")
            }
            guard let categoryName = object["category"] as? String ?? defaults.category else {
                throw InvalidInput(
                    "\(manifest) line \(number) names no category",
                    hint: "add \"category\" to the line, or pass --category")
            }
            let category: Healthledger_V1_DataCategory
            do { category = try CommandLineVocabulary.category(categoryName) } catch {
                throw InvalidInput("\(manifest) line \(number): \(error.description)", hint: error.hint)
            }
            let linePatient = try (object["patient"] as? String).map { try GrantCommand.principal($0) } ?? patient
            let location = path.hasPrefix("/") ? path : base + "/" + path
            items.append(
                ImportItem(
                    path: path, location: location, categoryName: categoryName, category: category,
                    mediaType: object["media_type"] as? String ?? defaults.mediaType
                        ?? WriteCommand.mediaType(forFile: path),
                    patient: linePatient))
        }
        return items
    }

    /// Imports `items` in order, journalling each; prints a line per record with --json, and the summary.
    static func importing(
        _ items: [ImportItem], journal: ImportJournal, client: LedgerClient<some ClientTransport>,
        options: ClientOptions, server: String, hints: CommandFailure.Hints
    ) async throws {
        var totalBytes: UInt64 = 0
        for item in items {
            var status = stat()
            if stat(item.location, &status) == 0 { totalBytes += UInt64(status.st_size) }
        }
        var progress = ProgressBar(
            total: UInt64(items.count), totalBytes: totalBytes, label: "importing", unit: "records",
            hidden: options.json)
        let started = ContinuousClock.now
        var imported = 0
        var skipped = 0
        var changed: [(item: ImportItem, entry: ImportJournalEntry)] = []
        var importedBytes: UInt64 = 0
        var doneBytes: UInt64 = 0
        for (index, item) in items.enumerated() {
            do {
                let content = try RecordContentFile(path: item.location)
                let sha256 = Hex.encode(content.sha256)
                var outcome = "imported"
                var entry: ImportJournalEntry
                switch ImportDecision.decide(path: item.path, sha256: sha256, latest: journal.latest[item.path]) {
                case .skip(let done):
                    entry = done
                    outcome = "skipped"
                    skipped += 1
                case .changed(let earlier):
                    changed.append((item, earlier))
                    entry = earlier
                    outcome = "changed"
                case .resubmit(let pending):
                    entry = try await resubmit(pending, item: item, content: content, journal: journal, client: client)
                    imported += 1
                    importedBytes += content.sizeBytes
                case .send:
                    entry = try await send(item, content: content, sha256: sha256, journal: journal, client: client)
                    imported += 1
                    importedBytes += content.sizeBytes
                }
                doneBytes += content.sizeBytes
                if options.json {
                    var object: [String: Any] = [
                        "path": item.path, "outcome": outcome, "record_id": entry.recordID,
                        "size_bytes": content.sizeBytes,
                        "sha256": sha256, "patient": item.patient, "category": item.categoryName,
                    ]
                    if outcome == "changed" { object["journalled_sha256"] = entry.sha256 }
                    CommandOutput.json(object)
                }
            } catch {
                progress.finish()
                journal.sync()
                var failure = CommandFailure.from(error, server: server, hints: hints)
                if !failure.what.contains(item.location) { failure.what = "\(item.path): \(failure.what)" }
                throw failure
            }
            progress.update(UInt64(index + 1), bytes: doneBytes)
        }
        progress.finish()
        journal.sync()
        let elapsed = max(ProgressBar.seconds(ContinuousClock.now - started), 1e-9)
        let recordsPerSecond = Double(imported) / elapsed
        let mebibytesPerSecond = Double(importedBytes) / 1_048_576 / elapsed
        if options.json {
            CommandOutput.json([
                "summary": true, "imported": imported, "skipped": skipped, "changed": changed.count,
                "imported_bytes": importedBytes, "seconds": (elapsed * 1000).rounded() / 1000,
                "records_per_second": (recordsPerSecond * 10).rounded() / 10,
                "mib_per_second": (mebibytesPerSecond * 10).rounded() / 10, "journal": journal.path,
            ])
        } else {
            CommandOutput.write(
                FieldList(fields: [
                    ("imported", "\(imported) records, \(ProgressBar.mebibytes(importedBytes)) MiB"),
                    ("skipped", "\(skipped) already imported"), ("changed", "\(changed.count)"),
                    ("time", String(format: "%.1f s", elapsed)),
                    ("rate", String(format: "%.0f records/s, %.1f MiB/s", recordsPerSecond, mebibytesPerSecond)),
                    ("journal", journal.path),
                ]).rendered())
        }
        if let first = changed.first {
            let others = changed.count > 1 ? " and \(changed.count - 1) more" : ""
            throw CommandFailure(
                .failure,
                "\(first.item.path)\(others) changed since imported as record \(first.entry.recordID); not imported again",
                hint: "to record the new version, write it with `healthledger write --amends \(first.entry.recordID)`")
        }
    }

    /// Signs and sends one file, journalling it as pending before it is sent and as imported once acknowledged.
    static func send(
        _ item: ImportItem, content: RecordContentFile, sha256: String, journal: ImportJournal,
        client: LedgerClient<some ClientTransport>
    ) async throws -> ImportJournalEntry {
        let response = try await client.write(
            patient: item.patient, category: item.category, content: content, mediaType: item.mediaType
        ) { signed in
            let entry = ImportJournalEntry(
                state: .pending, path: item.path, sha256: sha256, sizeBytes: content.sizeBytes,
                recordID: TransactionSigner.transactionID(of: signed), patient: item.patient,
                category: item.categoryName, transaction: signed.serializedBytes())
            try journal.recordPending(entry)
        }
        let entry = ImportJournalEntry(
            state: .imported, path: item.path, sha256: sha256, sizeBytes: content.sizeBytes,
            recordID: response.recordId, patient: item.patient, category: item.categoryName,
            blockHeight: response.receipt?.blockHeight ?? 0)
        try journal.recordImported(entry)
        return entry
    }

    /// Resubmits a transaction journalled as pending by a run that stopped before the node's answer; when the
    /// node never committed it and the sequence moved on since, the file is signed and sent afresh.
    static func resubmit(
        _ pending: ImportJournalEntry, item: ImportItem, content: RecordContentFile, journal: ImportJournal,
        client: LedgerClient<some ClientTransport>
    ) async throws -> ImportJournalEntry {
        let signed: Healthledger_V1_SignedTransaction
        do {
            signed = try Healthledger_V1_SignedTransaction(serializedBytes: pending.transaction)
        } catch {
            throw CommandFailure(
                .invalidInput, "the journal's transaction for \(item.path) does not decode",
                hint: "the journal \(journal.path) is damaged; check its last lines")
        }
        do {
            let response = try await client.resubmitWrite(signed, content: content)
            var entry = pending
            entry.state = .imported
            entry.transaction = []
            entry.recordID = response.recordId
            entry.blockHeight = response.receipt?.blockHeight ?? 0
            try journal.recordImported(entry)
            return entry
        } catch let error as RPCError
            where error.code == .failedPrecondition && error.message.contains("transaction.body.sequence")
        {
            // Not committed (a committed one answers ALREADY_EXISTS first), and its sequence number is taken.
            return try await send(item, content: content, sha256: pending.sha256, journal: journal, client: client)
        }
    }
}
