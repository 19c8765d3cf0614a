import ArgumentParser
import Foundation

/// The healthledger command line.
@main
struct HealthLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthledger",
        abstract: "A patient-controlled access-control ledger for health data.",
        discussion: """
            Client commands sign with the identity file (--identity, else
            $HEALTHLEDGER_IDENTITY, else $XDG_CONFIG_HOME/healthledger/identity.pem)
            and talk to the node at --server (else $HEALTHLEDGER_SERVER, else
            127.0.0.1:7443) over TLS, trusting the development CA of the default
            data directory when there is one. Errors are one line on stderr:
            error: <what> (hint: <how to fix>). See docs/CLI.md.

            Exit codes:
              0   success
              1   other failure (a node bug, lost data, a chain that fails verify)
              2   refused by the node: permission, credentials, ledger state
              3   not found: grant, record, principal, identity or input file
              4   node unreachable or unavailable (not running, TLS trust)
              5   invalid input: flag value, unsafe or broken identity file,
                  a field the node rejected
              6   the node's answer does not verify against what this machine saw
                  before: rewritten, rolled back or forked history, unpinned node
                  key, bad proof (see --checkpoint-file)
              64  bad usage: unknown option, missing argument

            Examples:
              healthledger serve
              healthledger keygen && healthledger whoami
              healthledger grant hl1q... --actions read --categories labs --for 30d
              healthledger import --category labs ./lab-results
              healthledger audit --follow
              healthledger --generate-completion-script bash > healthledger.bash
            """,
        subcommands: [
            ServeCommand.self, KeygenCommand.self, WhoamiCommand.self, GrantCommand.self, RevokeCommand.self,
            GrantsCommand.self, WriteCommand.self, ImportCommand.self, QueryCommand.self, ExportCommand.self,
            EraseCommand.self,
            AuditCommand.self, ResearchFeedCommand.self,
            EmergencyCommand.self, StatusCommand.self, VerifyCommand.self,
        ])

    /// Parses and runs the command; a usage error is reported in the same one-line form as every other error.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let arguments = CommandLine.arguments.dropFirst()
            let subcommand = configuration.subcommands.first { type in
                arguments.contains(type.configuration.commandName ?? "")
            }?.configuration.commandName
            let help = subcommand.map { "healthledger \($0) --help" } ?? "healthledger --help"
            let message = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "bad usage"
            FileHandle.standardError.write(Data("error: \(message) (hint: see `\(help)` for usage and examples)\n".utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
    }
}
