import Foundation

/// Rows under a header, with every column as wide as its widest cell; the last column is not padded.
struct TextTable {
    /// Column titles.
    var header: [String]
    /// Cells, one array per row, as many as `header`.
    var rows: [[String]] = []

    /// The table as lines, ending in a newline.
    func rendered() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// Name-value lines ("chain id:   healthledger-local") aligned on the values.
struct FieldList {
    /// Names and values, in order.
    var fields: [(name: String, value: String)]

    /// The lines, ending in a newline.
    func rendered() -> String {
        let width = (fields.map(\.name.count).max() ?? 0) + 1
        return fields.map { ($0.name + ":").padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.value }
            .joined(separator: "\n") + "\n"
    }
}

/// Writes what commands print: text on stdout, JSON objects one per line for scripts.
enum CommandOutput {
    /// Prints `text` as is.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Prints `object` as one line of JSON with sorted keys.
    static func json(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// A note for a person (on stderr, so stdout stays parseable).
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Progress of long work on stderr: a bar redrawn in place (at most every 100 ms) when stderr is a terminal, a
/// plain line every 5 s otherwise (logs, CI), nothing when the output is JSON for a script.
struct ProgressBar {
    /// How progress is shown.
    enum Style {
        /// A bar redrawn in place on a terminal.
        case bar
        /// A line now and then, for logs.
        case lines
        /// Nothing.
        case hidden
    }

    private let total: UInt64
    private let totalBytes: UInt64
    private let label: String
    private let unit: String
    private let style: Style
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant

    /// Progress over `total` units (named `unit`, plural) and, when `totalBytes` is not 0, as many bytes;
    /// hidden when `hidden` (JSON output), else a bar or lines depending on whether stderr is a terminal.
    init(total: UInt64, totalBytes: UInt64 = 0, label: String, unit: String, hidden: Bool = false) {
        self.total = total
        self.totalBytes = totalBytes
        self.label = label
        self.unit = unit
        style = hidden ? .hidden : isatty(STDERR_FILENO) == 1 ? .bar : .lines
        lastDrawn = started
    }

    /// Shows that `done` units and `bytes` bytes are finished.
    mutating func update(_ done: UInt64, bytes: UInt64 = 0) {
        let now = ContinuousClock.now
        switch style {
        case .hidden: return
        case .bar: guard now - lastDrawn >= .milliseconds(100) || done >= total else { return }
        case .lines: guard now - lastDrawn >= .seconds(5) else { return }
        }
        lastDrawn = now
        let status = Self.status(
            done: done, total: total, bytes: bytes, totalBytes: totalBytes, unit: unit,
            elapsed: Self.seconds(now - started))
        switch style {
        case .bar:
            let width = 24
            let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : Double(done) / Double(max(total, 1))
            let filled = Int(min(max(fraction, 0), 1) * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(status)\u{1B}[K".utf8))
        case .lines:
            FileHandle.standardError.write(Data("\(label): \(status)\n".utf8))
        case .hidden: break
        }
    }

    /// Clears the bar's line.
    func finish() {
        guard style == .bar else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// "900/2000 records, 3.5/7.8 MiB, 230 records/s, 1.1 MiB/s, ETA 5s": counts, rates since the start and the
    /// time left at that rate (by bytes when known, else by units).
    static func status(
        done: UInt64, total: UInt64, bytes: UInt64, totalBytes: UInt64, unit: String, elapsed: Double
    ) -> String {
        var parts = ["\(done)/\(total) \(unit)"]
        if totalBytes > 0 { parts.append("\(mebibytes(bytes))/\(mebibytes(totalBytes)) MiB") }
        guard elapsed > 0 else { return parts.joined(separator: ", ") }
        parts.append("\(Int((Double(done) / elapsed).rounded())) \(unit)/s")
        if totalBytes > 0 { parts.append("\(mebibytes(UInt64(Double(bytes) / elapsed))) MiB/s") }
        let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : Double(done) / Double(max(total, 1))
        if fraction > 0 && fraction < 1 {
            parts.append("ETA " + duration(elapsed * (1 - fraction) / fraction))
        }
        return parts.joined(separator: ", ")
    }

    /// Bytes in MiB with one decimal.
    static func mebibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }

    /// A duration such as "42s", "3m05s" or "1h02m".
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// A clock duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
