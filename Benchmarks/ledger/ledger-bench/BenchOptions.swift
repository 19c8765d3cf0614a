import Glibc

/// The command line of `ledger-bench`: a scenario name, then `--name value` flags (also `--name=value`).
struct BenchOptions {
    /// The scenario to run: echo, tx, query, audit-catchup, audit-live, fill, head or soak.
    let scenario: String
    private var values: [String: String]
    private var used: Set<String> = []

    /// Parses `arguments` (without the program name); exits with usage when there is no scenario.
    init(_ arguments: [String]) {
        guard let first = arguments.first, !first.hasPrefix("-") else { BenchOptions.usage() }
        scenario = first
        values = [:]
        var remaining = arguments.dropFirst()
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else { BenchOptions.fail("unexpected argument \(argument)") }
            let parts = argument.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                values[parts[0]] = parts[1]
            } else if let next = remaining.first, !next.hasPrefix("--") {
                values[parts[0]] = next
                remaining = remaining.dropFirst()
            } else {
                values[parts[0]] = "true"  // a bare flag
            }
        }
    }

    /// An integer flag, or `fallback` when absent.
    mutating func int(_ name: String, _ fallback: Int) -> Int {
        used.insert(name)
        guard let text = values[name] else { return fallback }
        guard let value = Int(String(text.filter { $0 != "_" })) else {
            BenchOptions.fail("--\(name) \(text): not an integer")
        }
        return value
    }

    /// A floating-point flag, or `fallback` when absent.
    mutating func double(_ name: String, _ fallback: Double) -> Double {
        used.insert(name)
        guard let text = values[name] else { return fallback }
        guard let value = Double(text) else { BenchOptions.fail("--\(name) \(text): not a number") }
        return value
    }

    /// A string flag, or `fallback` when absent.
    mutating func string(_ name: String, _ fallback: String) -> String {
        used.insert(name)
        return values[name] ?? fallback
    }

    /// Whether a bare flag was given.
    mutating func flag(_ name: String) -> Bool {
        used.insert(name)
        return values[name] == "true"
    }

    /// Stops when a flag was given that the scenario did not read (a typo would otherwise go unnoticed).
    func rejectUnknown() {
        let unknown = Set(values.keys).subtracting(used)
        if !unknown.isEmpty { BenchOptions.fail("unknown option(s) for \(scenario): \(unknown.sorted().joined(separator: ", "))") }
    }

    static func fail(_ message: String) -> Never {
        Report.error("ledger-bench: \(message)")
        exit(2)
    }

    static func usage() -> Never {
        Report.error(
            """
            usage: ledger-bench SCENARIO --port N [options]
              echo           --connections C --inflight N --seconds T --payload B   unary Echo (echo-bench-server)
              tx             --patients P --per-patient K --kind grant|write --content-bytes B --connections C --inflight N
                             [--ports P1,P2,...]   the nodes of a cluster: connection c to node c mod N, every log checked
              query          --patients P --records R --connections C --inflight N --seconds T [--rate R]
              audit-catchup  --events E --connections C --inflight N [--decode light|full] [--proofs]
              audit-live     --rate R --seconds T --connections C
              fill           --transactions N --per-patient K --connections C --inflight N --batch-patients B
              head           prints the chain head (height, tree size, audit sequence)
              soak           --duration 30m --server-pid PID --csv FILE [--interval S] [--*-rate R]   mixed load, a CSV row per interval
              export         --records R --events E --record-bytes B --writers W --repeats N [--server-pid PID]   FHIR Bundle export of one patient
            Every scenario prints RESULT lines (key=value) on stdout and exits non-zero on any failed call.
            """)
        exit(2)
    }
}
