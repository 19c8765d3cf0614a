import ArgumentParser
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos

/// `--identity`: which identity file signs for the user.
struct IdentityOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Identity file (default: $HEALTHLEDGER_IDENTITY, else $XDG_CONFIG_HOME/healthledger/identity.pem).",
            valueName: "path"),
        completion: .file())
    var identity: String?

    /// The identity file's path after the flag, the environment and the default.
    var path: String { IdentityFile.path(explicit: identity, environment: ProcessInfo.processInfo.environment) }

    /// The identity in the file.
    func load() throws -> LedgerIdentity { try IdentityFile.load(from: path) }
}

/// The options every command that talks to a node takes.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The node, host:port; or several nodes of one cluster, host:port,host:port,..., tried in turn when one cannot be reached (default: $HEALTHLEDGER_SERVER, else 127.0.0.1:7443).",
            valueName: "host:port[,...]"))
    var server: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PEM CA bundle the node's certificate must chain to (default: the development CA in the default data directory, when there is one; else the system's).",
            valueName: "path"),
        completion: .file())
    var caFile: String?
    @Flag(name: .long, help: "Talk plaintext HTTP/2 (h2c), to a node run with --plaintext.")
    var plaintext = false
    @Flag(name: .long, help: "Print JSON for scripts (one object per line) instead of tables.")
    var json = false
    @Option(
        name: .customLong("checkpoint-file"),
        help: ArgumentHelp(
            "Where the node keys pinned and the last checkpoint seen are kept (default: $HEALTHLEDGER_CHECKPOINT_FILE, else $XDG_STATE_HOME/healthledger/checkpoints/<chain-id>.json).",
            valueName: "path"),
        completion: .file())
    var checkpointFile: String?
    @OptionGroup var identity: IdentityOption

    /// The file keeping what this user's commands learnt of the node's history.
    var checkpoints: CheckpointFile {
        CheckpointFile(explicitPath: checkpointFile, environment: ProcessInfo.processInfo.environment)
    }

    /// The node's address, or the cluster's addresses, as given (flag, environment or default).
    var serverText: String {
        if let server, !server.isEmpty { return server }
        if let fromEnvironment = ProcessInfo.processInfo.environment["HEALTHLEDGER_SERVER"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "127.0.0.1:7443"
    }

    /// The CA bundle to trust: --ca-file, else the development CA of a node with the default data directory.
    var trustRoots: String? {
        if let caFile { return caFile }
        let development = ServeSettings.defaultDataDirectory() + "/tls/ca.pem"
        return FileManager.default.isReadableFile(atPath: development) ? development : nil
    }

    /// How errors name the node: its address, or "any of" the cluster's.
    var serverDescription: String {
        guard let servers = try? CommandLineVocabulary.servers(serverText), servers.count > 1 else { return serverText }
        return "any of " + servers.map { "\(ClientEndpoint(host: $0.host, port: $0.port))" }.joined(separator: ", ")
    }

    /// A transport to the node, or to the cluster's nodes (calls move on to the next when one cannot be reached);
    /// nothing connects before the first call.
    func transport() throws -> FailoverClientTransport {
        let endpoints = try CommandLineVocabulary.servers(serverText).map {
            ClientEndpoint(host: $0.host, port: $0.port)
        }
        var configuration = ClientConfiguration(host: endpoints[0].host, port: endpoints[0].port)
        configuration.connectTimeout = .seconds(5)
        if !plaintext {
            if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                throw CommandFailure(
                    .notFound, "cannot read the CA file \(caFile)",
                    hint: "a node's development CA is <data-dir>/tls/ca.pem; check the path")
            }
            configuration.tls = TLSClientConfiguration(trustRootsPEMPath: trustRoots)
        }
        return try FailoverClientTransport(endpoints: endpoints, configuration: configuration)
    }

    /// Runs `body` with a client acting as the identity, reporting any failure as one line with an exit status. The
    /// client checks every answer against the history kept in the checkpoint file and keeps it up to date there.
    /// With `publicCallsOnly` no identity file is needed: the client then holds a fresh key that signs nothing, for
    /// commands that make only public calls.
    func withClient(
        hints: CommandFailure.Hints = CommandFailure.Hints(), publicCallsOnly: Bool = false,
        _ body: (LedgerClient<FailoverClientTransport>) async throws -> Void
    ) async throws {
        try await reportingFailures(server: serverDescription, hints: hints) {
            let identity = publicCallsOnly ? LedgerIdentity.generate() : try identity.load()
            let transport = try transport()
            let checkpoints = self.checkpoints
            let client = LedgerClient(
                transport: transport, identity: identity, verification: .enabled(store: checkpoints))
            do {
                try await body(client)
            } catch let problem as HistoryVerificationError {
                await transport.close()
                let chain = await client.witness?.chainID ?? "<chain-id>"
                throw CommandFailure.history(problem, server: serverDescription, file: checkpoints.path(chainID: chain))
            } catch {
                await transport.close()
                throw error
            }
            await transport.close()
        }
    }

    /// Runs `body` with the generated stubs and no identity (public calls only).
    func withStub(_ body: (Healthledger_V1_LedgerClient<FailoverClientTransport>) async throws -> Void) async throws {
        try await reportingFailures(server: serverDescription) {
            let transport = try transport()
            do {
                try await body(Healthledger_V1_LedgerClient(transport: transport))
            } catch {
                await transport.close()
                throw error
            }
            await transport.close()
        }
    }
}
