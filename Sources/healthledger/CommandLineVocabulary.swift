import Foundation
import HealthLedgerProtos

/// The words the command line uses for the ledger's enums, durations and times, and their parsing. Pure: every
/// function maps text to values or an `InvalidInput` that names the accepted words.
enum CommandLineVocabulary {
    /// Data categories by their command-line names, in proto order.
    static let categories: [(name: String, value: Healthledger_V1_DataCategory)] = [
        ("demographics", .demographics), ("conditions", .conditions), ("medications", .medications),
        ("allergies", .allergies), ("labs", .labs), ("imaging", .imaging), ("vitals", .vitals),
        ("immunizations", .immunizations), ("procedures", .procedures), ("clinical-notes", .clinicalNotes),
        ("mental-health", .mentalHealth), ("sexual-health", .sexualHealth), ("substance-use", .substanceUse),
        ("genomics", .genomics), ("all", .all),
    ]
    /// Grant actions by their command-line names.
    static let actions: [(name: String, value: Healthledger_V1_Action)] = [
        ("read", .read), ("write", .write), ("audit-read", .auditRead), ("delegate", .delegate),
    ]
    /// Purposes of use by their command-line names.
    static let purposes: [(name: String, value: Healthledger_V1_Purpose)] = [
        ("treatment", .treatment), ("emergency", .emergency), ("research", .research), ("payment", .payment),
        ("operations", .operations), ("patient-request", .patientRequest),
    ]

    /// The categories in a comma-separated list such as "labs,vitals".
    static func categories(_ text: String) throws(InvalidInput) -> [Healthledger_V1_DataCategory] {
        try list(text, of: categories, what: "category", plural: "categories")
    }

    /// The actions in a comma-separated list such as "read,write".
    static func actions(_ text: String) throws(InvalidInput) -> [Healthledger_V1_Action] {
        try list(text, of: actions, what: "action", plural: "actions")
    }

    /// The purposes in a comma-separated list such as "treatment,research".
    static func purposes(_ text: String) throws(InvalidInput) -> [Healthledger_V1_Purpose] {
        try list(text, of: purposes, what: "purpose", plural: "purposes")
    }

    /// One category, e.g. for `write --category`.
    static func category(_ text: String) throws(InvalidInput) -> Healthledger_V1_DataCategory {
        let parsed = try categories(text)
        guard parsed.count == 1, parsed[0] != .all else {
            throw InvalidInput(
                "--category takes exactly one category, got \"\(text)\"",
                hint: "use one of: \(categories.dropLast().map(\.name).joined(separator: ", "))")
        }
        return parsed[0]
    }

    /// The command-line name of `value` in `table`, or its number when the table lacks it.
    static func name<Value: Equatable>(of value: Value, in table: [(name: String, value: Value)]) -> String {
        table.first { $0.value == value }?.name ?? "\(value)"
    }

    /// A duration such as "90s", "30m", "1h", "1h30m", "7d" or "2w", in milliseconds.
    static func duration(_ text: String) throws(InvalidInput) -> Int64 {
        let invalid = InvalidInput(
            "bad duration \"\(text)\"", hint: "write a number and a unit: 90s, 30m, 1h, 1h30m, 7d, 2w")
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
        var total: Int64 = 0
        var number: Int64?
        for character in text.lowercased() {
            if let digit = character.wholeNumberValue {
                let (shifted, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow else { throw invalid }
                number = shifted + Int64(digit)
            } else if let unit = units[character], let value = number {
                let (scaled, overflow) = value.multipliedReportingOverflow(by: unit)
                guard !overflow else { throw invalid }
                total += scaled
                number = nil
            } else {
                throw invalid
            }
        }
        guard number == nil, total > 0 else { throw invalid }
        return total
    }

    /// An instant written in ISO 8601: "2026-03-31T18:00:00Z", with an offset such as "+02:00", or a date alone
    /// ("2026-03-31"), which means the end of that day in UTC. Milliseconds since the Unix epoch.
    static func instant(_ text: String) throws(InvalidInput) -> Int64 {
        let full = ISO8601DateFormatter()
        full.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = full.date(from: text) ?? fractional.date(from: text) {
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if text.count == 10, let date = day.date(from: text) {
            return Int64(date.timeIntervalSince1970 * 1000) + 86_400_000
        }
        throw InvalidInput(
            "bad time \"\(text)\"", hint: "write ISO 8601, e.g. 2026-03-31T18:00:00Z, 2026-03-31T20:00:00+02:00 or 2026-03-31")
    }

    /// An instant for a table: "2026-03-31 18:00:00Z" (UTC).
    static func display(unixMs: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixMs) / 1000))
    }

    /// `host:port` (an IPv6 address in brackets: "[::1]:7443"); a missing port means 7443.
    static func server(_ text: String) throws(InvalidInput) -> (host: String, port: Int) {
        let invalid = InvalidInput("bad server address \"\(text)\"", hint: "write host:port, e.g. 127.0.0.1:7443")
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw invalid }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw invalid }
                portText = rest.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw invalid }
        guard let portText else { return (String(host), 7443) }
        guard let port = Int(portText), (1...65535).contains(port) else { throw invalid }
        return (String(host), port)
    }

    /// One address, or several nodes of one cluster separated by commas ("a:7443,b:7443"), each as `server` reads
    /// it; spaces around the commas are ignored.
    static func servers(_ text: String) throws(InvalidInput) -> [(host: String, port: Int)] {
        let addresses = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard addresses.count > 1 else { return [try server(text)] }
        var servers: [(host: String, port: Int)] = []
        for address in addresses {
            guard !address.isEmpty else {
                throw InvalidInput(
                    "bad server list \"\(text)\": an empty address",
                    hint: "write host:port,host:port, e.g. a:7443,b:7443")
            }
            servers.append(try server(address))
        }
        return servers
    }

    private static func list<Value: Equatable>(
        _ text: String, of table: [(name: String, value: Value)], what: String, plural: String
    ) throws(InvalidInput) -> [Value] {
        var values: [Value] = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            let normalized = word.trimmingCharacters(in: .whitespaces).lowercased()
                .replacingOccurrences(of: "_", with: "-")
            guard let entry = table.first(where: { $0.name == normalized }) else {
                throw InvalidInput(
                    word.isEmpty ? "empty \(what) in \"\(text)\"" : "unknown \(what) \"\(word)\"",
                    hint: "valid \(plural): \(table.map(\.name).joined(separator: ", "))")
            }
            if !values.contains(entry.value) { values.append(entry.value) }
        }
        return values
    }
}

/// A value on the command line that parses but means nothing valid; the hint says what would be accepted.
struct InvalidInput: Error, CustomStringConvertible {
    /// What is wrong, in one line.
    var description: String
    /// How to fix it.
    var hint: String

    init(_ description: String, hint: String) {
        self.description = description
        self.hint = hint
    }
}
