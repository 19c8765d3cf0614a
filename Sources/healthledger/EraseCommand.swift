import ArgumentParser
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos

/// `healthledger erase`: a patient has the content of their own records destroyed.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase the content of your own records (the chain keeps their hashes).",
        discussion: """
            Destroys the stored content of the named records, or with --all of every record of
            yours by destroying your data key (crypto-shredding). It cannot be undone. The
            records' metadata and content hashes stay on the chain, so the log still verifies;
            later queries list the records as erased and return no content. The erasure is a
            transaction you sign and appears in your audit trail.

            Asks for confirmation on a terminal; pass --yes in scripts.

            Examples:
              healthledger erase --record 3f1c...e9 --reason "uploaded to the wrong patient"
              healthledger erase --all --reason "leaving the service" --yes
            """)

    @Option(name: .long, help: "Id of a record of yours to erase (repeatable).")
    var record: [String] = []
    @Flag(name: .long, help: "Erase every record of yours by destroying your data key.")
    var all = false
    @Option(name: .long, help: "Why; kept on the chain and in your audit trail (at most 1024 bytes).")
    var reason = ""
    @Flag(name: .long, help: "Do not ask for confirmation.")
    var yes = false
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var hints = CommandFailure.Hints()
        hints.notFound = "only your own records can be erased; `healthledger query --json` lists their ids"
        hints.refused = "only the patient may erase their records (a delegate may not)"
        try await options.withClient(hints: hints) { client in
            guard all != !record.isEmpty else {
                throw InvalidInput(
                    all ? "--all and --record exclude each other" : "nothing to erase",
                    hint: "name records with --record RECORD-ID, or pass --all")
            }
            for id in record where !(id.count == 64 && id.allSatisfy(\.isHexDigit)) {
                throw InvalidInput("bad record id \"\(id)\"", hint: "a record id is 64 hex characters")
            }
            guard reason.utf8.count <= 1_024 else {
                throw InvalidInput("the reason is \(reason.utf8.count) bytes", hint: "keep it to 1024 bytes")
            }
            if !yes { try confirm() }
            let response = try await client.erase(recordIDs: all ? nil : record.map { $0.lowercased() }, reason: reason)
            if options.json {
                CommandOutput.json([
                    "erased_record_count": response.erasedRecordCount, "all": all,
                    "block_height": response.receipt?.blockHeight ?? 0,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("erased records", "\(response.erasedRecordCount)"),
                        ("block", "\(response.receipt?.blockHeight ?? 0)"),
                    ]).rendered())
            }
        }
    }

    /// Asks on the terminal; without one, refuses rather than erase unasked.
    private func confirm() throws {
        let what = all ? "the content of EVERY record of yours" : "the content of \(record.count) record(s)"
        guard isatty(STDIN_FILENO) == 1 else {
            throw InvalidInput("erasing \(what) needs confirmation", hint: "pass --yes to erase without asking")
        }
        FileHandle.standardError.write(Data("This destroys \(what) for good. Type \"erase\" to go on: ".utf8))
        guard readLine(strippingNewline: true) == "erase" else {
            throw InvalidInput("not confirmed; nothing was erased", hint: "type erase at the prompt, or pass --yes")
        }
    }
}
