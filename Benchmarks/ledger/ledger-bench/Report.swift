import Glibc

/// What the load generator prints: progress on standard error, results as `RESULT key=value ...` lines on
/// standard output (the driver script parses those), written unbuffered so nothing is lost on exit.
enum Report {
    /// A progress line on standard error.
    static func progress(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

    /// An error line on standard error.
    static func error(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

    /// One result line: `RESULT scenario=<scenario> k=v ...`, in the order given.
    static func result(_ scenario: String, _ fields: KeyValuePairs<String, String>) {
        let text = (["RESULT", "scenario=\(scenario)"] + fields.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        write(text + "\n", to: STDOUT_FILENO)
    }

    /// Stops the run: a failed call or a wrong count must never yield a figure.
    static func failRun(_ scenario: String, _ reason: String) -> Never {
        error("ledger-bench \(scenario): FAILED: \(reason)")
        exit(1)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Formats numbers for the result lines.
enum Format {
    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress, 64, "%.\(digits)f", $0) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Nanoseconds as milliseconds with three decimals.
    static func ms(_ nanoseconds: Int64) -> String { fixed(Double(nanoseconds) / 1e6, 3) }
}

/// A monotonic clock in nanoseconds (CLOCK_MONOTONIC), shared by every task of the process.
enum Clock {
    /// Now, in nanoseconds since an arbitrary start.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Sleeps until `deadline` (nanoseconds on this clock); returns at once when it has passed.
    static func sleep(until deadline: Int64) async {
        let remaining = deadline - now()
        if remaining > 0 { try? await Task.sleep(for: .nanoseconds(remaining)) }
    }
}
