import ArgumentParser
import Foundation
import HTTP2Transport
import HealthLedgerClient
import RPCCore

/// The exit status of a client command; the table is documented in `healthledger --help` and docs/CLI.md.
enum ExitStatus: Int32 {
    /// The command did what it was asked.
    case success = 0
    /// A failure none of the codes below describes (a bug in the node, lost data, an unexpected error).
    case failure = 1
    /// The node refused: no permission, bad credentials, or the ledger's state does not allow it now.
    case refused = 2
    /// Something named does not exist: a grant, a record, a principal, the identity file or an input file.
    case notFound = 3
    /// The node could not be reached or could not serve the call (not running, TLS trust, shutting down).
    case unavailable = 4
    /// A value is invalid: a flag value, a key file, or a field the node rejected.
    case invalidInput = 5
    /// The node's answer does not verify against the history seen before: a rewritten or forked log, a checkpoint
    /// not signed by a pinned node key, a proof that fails, a receipt for something else.
    case historyMismatch = 6
    /// The command line itself is wrong (unknown option, missing argument).
    case usage = 64
}

/// A command's failure as the user sees it: one line `error: <what> (hint: <how to fix>)` and an exit status.
struct CommandFailure: Error, CustomStringConvertible {
    /// The exit status.
    var status: ExitStatus
    /// What went wrong, one line.
    var what: String
    /// How to fix it, one line.
    var hint: String

    /// The line printed on stderr.
    var description: String { "error: \(Self.oneLine(what)) (hint: \(Self.oneLine(hint)))" }

    init(_ status: ExitStatus, _ what: String, hint: String) {
        self.status = status
        self.what = what
        self.hint = hint
    }

    /// Hints a command gives for node answers whose fix depends on the command.
    struct Hints {
        /// For PERMISSION_DENIED.
        var refused = "the ledger's policy does not allow this to your principal (healthledger whoami shows which)"
        /// For NOT_FOUND.
        var notFound = "check the id; `healthledger grants` lists grant ids, `healthledger query` record ids"
        /// For FAILED_PRECONDITION.
        var precondition = "the ledger's state does not allow this now; `healthledger status` shows the chain"
    }

    /// The failure the user sees for `error`, raised while talking to `server`.
    static func from(_ error: any Error, server: String = "", hints: Hints = Hints()) -> CommandFailure {
        switch error {
        case let failure as CommandFailure: return failure
        case let invalid as InvalidInput: return CommandFailure(.invalidInput, invalid.description, hint: invalid.hint)
        case let identity as IdentityFileError: return from(identity)
        case let content as RecordContentError: return from(content)
        case let history as HistoryVerificationError: return Self.history(history, server: server, file: nil)
        case let tls as TLSError:
            return CommandFailure(
                .unavailable, "cannot set up TLS: \(tls)", hint: "check that --ca-file names a readable PEM CA bundle")
        case let rpc as RPCError: return from(rpc, server: server, hints: hints)
        default:
            return CommandFailure(.failure, "\(error)", hint: "run again; if it persists, report it with this message")
        }
    }

    /// The failure for a node answer that does not verify; `file` is the checkpoint file, when known.
    static func history(_ error: HistoryVerificationError, server: String, file: String?) -> CommandFailure {
        let file = file ?? "the checkpoint file (--checkpoint-file)"
        let node = server.isEmpty ? "the node" : "the node at \(server)"
        switch error.kind {
        case .unknownNodeKey:
            return CommandFailure(
                .historyMismatch, "\(node) cannot be trusted: \(error)",
                hint: "if its operator confirms a legitimate node-key change, remove \(file) "
                    + "to pin the node's keys again")
        case .wrongChain:
            return CommandFailure(
                .historyMismatch, "\(node) cannot be trusted: \(error)",
                hint: "check --server; the history seen before is kept in \(file)")
        default:
            return CommandFailure(
                .historyMismatch, "\(node) cannot be trusted: \(error)",
                hint: "do not rely on its answers; keep this output and \(file) (the evidence) and tell its operator")
        }
    }

    private static func from(_ error: RecordContentError) -> CommandFailure {
        switch error.kind {
        case .notFound: return CommandFailure(.notFound, error.description, hint: "check the path")
        case .unreadable:
            return CommandFailure(
                .notFound, error.description, hint: "check the file's permissions (ls -l \(error.path))")
        case .notARegularFile:
            return CommandFailure(.notFound, error.description, hint: "name a regular file, or - for standard input")
        case .changedWhileSending:
            return CommandFailure(
                .failure, error.description,
                hint: "nothing was committed; run again once nothing writes to the file any more")
        }
    }

    private static func from(_ error: IdentityFileError) -> CommandFailure {
        switch error.kind {
        case .notFound:
            return CommandFailure(
                .notFound, error.description,
                hint: "create one with `healthledger keygen`, or name yours with --identity or HEALTHLEDGER_IDENTITY")
        case .unsafePermissions:
            return CommandFailure(.invalidInput, error.description, hint: "chmod 600 \(error.path)")
        case .alreadyExists:
            return CommandFailure(
                .invalidInput, error.description,
                hint: "pass --force to replace it (the old key is lost), or choose another file with --identity")
        case .malformed:
            return CommandFailure(
                .invalidInput, error.description,
                hint: "an identity file is a PKCS#8 PEM private key with optional `principal:` header; see docs/CLI.md")
        case .io:
            return CommandFailure(
                .failure, error.description,
                hint: "check that you may read the file and write its directory: ls -l \(error.path)")
        }
    }

    private static func from(_ error: RPCError, server: String, hints: Hints) -> CommandFailure {
        let message = error.message.isEmpty ? "\(error.code)" : error.message
        switch error.code {
        case .unavailable where isTLSProblem(message):
            return CommandFailure(
                .unavailable, "TLS with \(server) failed: \(message)",
                hint: "pass --ca-file <data-dir>/tls/ca.pem of the node, or --plaintext for a node run with --plaintext")
        case .unavailable where isConnectionProblem(message):
            return CommandFailure(
                .unavailable, "cannot reach the node at \(server): \(message)",
                hint: "is the node running? start it with `healthledger serve`, or point --server at it")
        case .unavailable where message.lowercased().contains("closed") || message.lowercased().contains("reset"):
            return CommandFailure(
                .unavailable, "the node at \(server) dropped the connection: \(message)",
                hint: "a TLS node needs no --plaintext and a --plaintext node needs --plaintext; else see the node's log")
        case .unavailable, .deadlineExceeded:
            return CommandFailure(
                .unavailable, "the node at \(server) could not serve the call: \(message)",
                hint: "retry in a moment; a transaction already sent is safe to send again")
        case .permissionDenied: return CommandFailure(.refused, "refused: \(message)", hint: hints.refused)
        case .unauthenticated:
            return CommandFailure(
                .refused, "not authenticated: \(message)",
                hint: "check that --identity holds your principal's current key (`healthledger whoami`)")
        case .failedPrecondition, .alreadyExists, .aborted:
            return CommandFailure(.refused, "refused: \(message)", hint: hints.precondition)
        case .resourceExhausted:
            return CommandFailure(.refused, "too large or too many: \(message)", hint: "send less at once, or retry later")
        case .notFound: return CommandFailure(.notFound, "not found: \(message)", hint: hints.notFound)
        case .invalidArgument, .outOfRange:
            return CommandFailure(.invalidInput, "invalid: \(message)", hint: "fix the value the message names")
        case .unimplemented:
            return CommandFailure(
                .failure, "the node does not offer this: \(message)", hint: "upgrade the node to this version of healthledger")
        default:
            return CommandFailure(
                .failure, "the node failed: \(error.code): \(message)", hint: "see the node's log; report it if it persists")
        }
    }

    private static func isTLSProblem(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("tls") || lowered.contains("certificate") || lowered.contains("ssl")
            || lowered.contains("handshake")
    }

    private static func isConnectionProblem(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("refused") || lowered.contains("resolve") || lowered.contains("unreachable")
            || lowered.contains("timed out") || (lowered.contains("connect") && !lowered.contains("closed"))
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}

/// Runs a client command's body, turning any failure into the one-line message and the exit status.
func reportingFailures(
    server: String = "", hints: CommandFailure.Hints = CommandFailure.Hints(), _ body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let failure = CommandFailure.from(error, server: server, hints: hints)
        FileHandle.standardError.write(Data((failure.description + "\n").utf8))
        throw ExitCode(failure.status.rawValue)
    }
}
