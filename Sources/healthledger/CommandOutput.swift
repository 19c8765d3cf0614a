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

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most every 100 ms.
struct ProgressBar {
    private let total: UInt64
    private let label: String
    private let isVisible: Bool
    private var lastDrawn = ContinuousClock.now - .seconds(1)

    /// A bar for `total` units of work described by `label`.
    init(total: UInt64, label: String) {
        self.total = max(total, 1)
        self.label = label
        isVisible = isatty(STDERR_FILENO) == 1
    }

    /// Shows that `done` units are finished.
    mutating func update(_ done: UInt64) {
        guard isVisible, ContinuousClock.now - lastDrawn >= .milliseconds(100) || done >= total else { return }
        lastDrawn = .now
        let width = 30
        let filled = Int(min(done, total) * UInt64(width) / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percent = min(done, total) * 100 / total
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% (\(done)/\(total))".utf8))
    }

    /// Clears the bar's line.
    func finish() {
        guard isVisible else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
