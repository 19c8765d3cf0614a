import ArgumentParser

/// The healthledger command line.
@main
struct HealthLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthledger",
        abstract: "A patient-controlled access-control ledger for health data.",
        discussion: """
            Exit codes: 0 success; 1 the command failed (the message says why); 64 bad usage.
            """,
        subcommands: [ServeCommand.self])
}
