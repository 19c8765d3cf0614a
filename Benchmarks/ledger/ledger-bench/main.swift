// Load generator for Benchmarks/ledger/run-ledger-benchmark: drives a running `healthledger serve --plaintext`
// (or, for `echo`, `echo-bench-server`) from a separate process and prints RESULT lines. Every scenario checks
// what it measures (each call OK, answers naming the expected transaction, counts of committed entries and
// replayed events) and exits non-zero on the first discrepancy, so a broken node cannot produce a figure.
//
// Usage: ledger-bench SCENARIO --port N [options]   (ledger-bench --help lists the scenarios)

import Glibc

/// Parses the command line and runs the scenario it names.
func runScenario(_ arguments: [String]) async {
    if arguments.isEmpty || arguments[0] == "--help" || arguments[0] == "-h" { BenchOptions.usage() }
    var options = BenchOptions(arguments)
    let port = options.int("port", 0)
    if port <= 0 { BenchOptions.fail("--port N is required") }
    do {
        switch options.scenario {
        case "echo": try await EchoScenario.run(&options, port: port)
        case "tx": try await TransactionScenario.run(&options, port: port)
        case "query": try await QueryScenario.run(&options, port: port)
        case "audit-catchup": try await AuditCatchupScenario.run(&options, port: port)
        case "audit-live": try await AuditLiveScenario.run(&options, port: port)
        case "fill": try await FillScenario.run(&options, port: port)
        case "head": try await HeadScenario.run(&options, port: port)
        case "soak": try await SoakScenario.run(&options, port: port)
        case "export": try await ExportScenario.run(&options, port: port)
        default: BenchOptions.fail("unknown scenario \(options.scenario)")
        }
    } catch {
        Report.failRun(options.scenario, "\(error)")
    }
}

await runScenario(Array(CommandLine.arguments.dropFirst()))
exit(0)
