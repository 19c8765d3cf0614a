import AccessPolicy
import ArgumentParser
import Foundation
import HTTP2Transport
import LedgerDomain
import LedgerNode
import Logging

/// `healthledger serve`: runs a node, alone or as one of a cluster.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a HealthLedger node.",
        discussion: """
            With no options, starts a single node on 127.0.0.1:7443 over TLS, with its data directory in
            $XDG_DATA_HOME/healthledger (~/.local/share/healthledger). On first start it creates the data
            directory, the node's block-signing key, the master key for record encryption and a development TLS
            certificate authority and server certificate (under <data-dir>/tls; clients trust tls/ca.pem), and
            says where each is. SIGTERM or SIGINT drains calls in flight and exits 0.

            Settings come from, in increasing priority: defaults, a JSON config file (--config), flags.
            Config file keys: data_dir, host, port, chain_id, plaintext, tls_cert, tls_key, health_port,
            metrics_port, emergency_clinicians (list of principal ids), emergency_categories (list, e.g.
            "allergies"), researchers (list of principal ids), max_emergency_duration_minutes, max_record_bytes,
            log_level, snapshot_every_entries, snapshot_every_seconds, dashboard (true/false), dashboard_dir,
            web_allowed_origins (list of origins), rate_limit, rate_burst, address_rate_limit,
            address_rate_burst, etcd (list of endpoints), etcd_prefix, etcd_ca_file, etcd_cert_file,
            etcd_key_file, etcd_lease_ttl_seconds, advertise.

            With --etcd the node is one of a cluster that orders one chain through etcd v3 (docs/REPLICATION.md,
            docs/DEPLOY.md): every node serves the whole API, one leads (an etcd lease decides which) and the
            others forward their callers' work to it; each node keeps its own data directory and catches up from
            etcd when it starts. All nodes of a cluster take the same --chain-id and the same policy settings.

            Every Ledger call is charged to its caller: calls with a session and signed transactions to the
            principal (default 200/s, burst 400), the others (signing in, public chain and proof reads) to the
            caller's IP address (default 100/s, burst 200). A caller over its limit gets RESOURCE_EXHAUSTED
            saying when to retry; --rate-limit off and --address-rate-limit off turn the limits off.

            The patient dashboard is served at https://<host>:<port>/ on the same listener (built into the
            binary; browsers need TLS, the default); it calls the Ledger service over gRPC-Web. --no-dashboard
            turns it off; --dashboard-dir serves a folder instead, read on every request, for work on the page.

            While it runs, the node writes a snapshot of its state in the background every 100,000 entries or
            10 minutes, whichever comes first (and at shutdown), so a start after a crash replays only the blocks
            after the newest one; the newest two are kept in <data-dir>/snapshots.

            Examples:
              healthledger serve
              healthledger serve --data-dir /var/lib/healthledger --port 443 --tls-cert cert.pem --tls-key key.pem
              healthledger serve --plaintext --port 7080 --emergency-clinician hl1...
              healthledger serve --config /etc/healthledger/node.json
              healthledger serve --rate-limit 1000/s --rate-burst 5000 --address-rate-limit 20/s
              healthledger serve --chain-id region-north --etcd https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379 \\
                --etcd-ca-file etcd-ca.pem --etcd-cert-file node1-etcd.pem --etcd-key-file node1-etcd-key.pem
            """)

    @Option(name: .long, help: "JSON config file (see the discussion for keys).")
    var config: String?
    @Option(name: .long, help: "Data directory (default: $XDG_DATA_HOME/healthledger).")
    var dataDir: String?
    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?
    @Option(name: .long, help: "Port to listen on (default 7443; 0 picks a free one).")
    var port: Int?
    @Option(name: .long, help: "Chain id for a new data directory (default healthledger-local).")
    var chainId: String?
    @Flag(name: .long, help: "Serve plaintext HTTP/2 (h2c) instead of TLS; for local use only.")
    var plaintext = false
    @Option(name: .long, help: "PEM certificate chain (default: a development certificate in <data-dir>/tls).")
    var tlsCert: String?
    @Option(name: .long, help: "PEM private key for --tls-cert.")
    var tlsKey: String?
    @Option(name: .long, help: "Also serve grpc.health.v1 alone on this plaintext port, for probes.")
    var healthPort: Int?
    @Option(name: .long, help: "Serve Prometheus metrics (text format) at http://<host>:<port>/metrics.")
    var metricsPort: Int?
    @Option(name: .long, help: "Principal id of a clinician who may open emergency access (repeatable).")
    var emergencyClinician: [String] = []
    @Option(
        name: .long, help: "Principal id of a researcher who may read the pseudonymised research feed (repeatable).")
    var researcher: [String] = []
    @Option(name: .long, help: "A category emergency access may open (repeatable; default allergies, medications, conditions, immunizations).")
    var emergencyCategory: [String] = []
    @Option(name: .long, help: "Longest emergency access this node opens, in minutes (default and most: 480).")
    var maxEmergencyDurationMinutes: Int?
    @Option(name: .long, help: "Largest record content in bytes (default 17179869184, 16 GiB).")
    var maxRecordBytes: UInt64?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?
    @Option(name: .long, help: "Write a state snapshot once this many entries are not in one (default 100000; 0: no count trigger).")
    var snapshotEveryEntries: UInt64?
    @Option(name: .long, help: "Write a state snapshot once an entry has waited this many seconds for one (default 600; 0: no time trigger).")
    var snapshotEverySeconds: Double?
    @Flag(name: .long, help: "Do not serve the patient dashboard (GET requests get 405).")
    var noDashboard = false
    @Option(
        name: .long, help: "Serve the dashboard from this folder (read on every request) instead of the built-in copy.")
    var dashboardDir: String?
    @Option(
        name: .long,
        help: "An origin (https://host[:port]) whose pages may call the node over gRPC-Web cross-origin (repeatable).")
    var webAllowedOrigin: [String] = []
    @Option(name: .long, help: "Calls per principal: N/s, N/min or N/h, or off (default 200/s).")
    var rateLimit: String?
    @Option(name: .long, help: "Calls a principal may make at once after a quiet spell (default twice the rate: 400).")
    var rateBurst: Int?
    @Option(
        name: .long, help: "Calls per IP address without a principal (sign-in, public chain reads): N/s, N/min, N/h or off (default 100/s).")
    var addressRateLimit: String?
    @Option(name: .long, help: "Calls an address may make at once after a quiet spell (default twice the rate: 200).")
    var addressRateBurst: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Join a cluster ordered through these etcd endpoints (http:// or https://, comma-separated or repeated); see docs/REPLICATION.md.",
            valueName: "url"))
    var etcd: [String] = []
    @Option(name: .long, help: "etcd key prefix of the ledger (default /healthledger/<chain id>).")
    var etcdPrefix: String?
    @Option(name: .long, help: "PEM CA bundle etcd's certificate must chain to (https endpoints).")
    var etcdCaFile: String?
    @Option(name: .long, help: "PEM client certificate for etcd (--client-cert-auth).")
    var etcdCertFile: String?
    @Option(name: .long, help: "PEM private key for --etcd-cert-file.")
    var etcdKeyFile: String?
    @Option(name: .long, help: "Seconds a silent leader keeps the lead before another node takes over (default 5).")
    var etcdLeaseTtl: Int?
    @Option(name: .long, help: "host:port clients reach this node at, shown to operators (default: the listen address).")
    var advertise: String?

    func run() async throws {
        AllocatorPolicy.returnLargeBuffersToTheSystem()
        let resolved = Result { () throws(ServeSettings.Problem) in try ServeSettings.resolve(flags: self) }
        guard case .success(let settings) = resolved else {
            if case .failure(let problem) = resolved { throw ValidationError(problem.description) }
            return
        }
        var logger = Logger(label: "healthledger")
        logger.logLevel = settings.logLevel
        // Before anything else, so a SIGTERM that comes while the node opens or right after "listening" ends it gracefully.
        let shutdownSignals: ShutdownSignals
        do {
            shutdownSignals = try ShutdownSignals.install()
        } catch {
            logger.critical("cannot install the shutdown signal handlers", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let metrics = settings.metricsPort.map { _ in PrometheusMetrics.bootstrap() }

        let node: LedgerNode
        do {
            if let cluster = settings.cluster {
                node = try await LedgerNode.open(
                    settings.nodeConfiguration, cluster: try cluster.settings(), logger: logger)
            } else {
                node = try LedgerNode.open(settings.nodeConfiguration, logger: logger)
            }
            try await node.ensureGenesisBlock()
        } catch {
            logger.critical("cannot open the node", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let security: LedgerServer.Security
        if settings.plaintext {
            security = .plaintext
        } else if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            security = .tls(TLSConfiguration(certificateChainPEMPath: certificate, privateKeyPEMPath: key))
        } else {
            let directory = settings.dataDirectory + "/tls"
            let development: DevelopmentCertificate
            if let existing = DevelopmentCertificate.existing(in: directory) {
                development = existing
            } else {
                development = try DevelopmentCertificate.generate(
                    commonName: "localhost", subjectAltNames: ["DNS:localhost", "IP:127.0.0.1", "IP:::1"],
                    directory: directory)
                logger.notice(
                    "created a development TLS certificate; clients trust the CA file",
                    metadata: ["ca": "\(development.certificateAuthorityPath)", "certificate": "\(development.certificatePath)"])
            }
            security = .tls(development.serverConfiguration())
        }
        let server: LedgerServer
        do {
            server = try LedgerServer(
                node: node, host: settings.host, port: settings.port, security: security, logger: logger,
                healthPort: settings.healthPort, dashboard: settings.dashboard,
                webAllowedOrigins: settings.webAllowedOrigins)
        } catch {
            node.close()
            logger.critical(
                "cannot serve", metadata: ["address": "\(settings.host):\(settings.port)", "error": "\(error)"])
            throw ExitCode.failure
        }
        var metricsEndpoint: MetricsEndpoint?
        if let metrics, let metricsPort = settings.metricsPort {
            do {
                metricsEndpoint = try MetricsEndpoint(host: settings.host, port: metricsPort, metrics: metrics)
                logger.notice("metrics", metadata: ["url": "http://\(settings.host):\(metricsEndpoint!.port)/metrics"])
            } catch {
                logger.critical("cannot serve metrics", metadata: ["port": "\(metricsPort)", "error": "\(error)"])
                await server.shutdown()
                throw ExitCode.failure
            }
        }
        let head = node.head
        logger.notice(
            "serving",
            metadata: [
                "address": "\(settings.host):\(server.port)", "tls": "\(!settings.plaintext)",
                "data_dir": "\(settings.dataDirectory)", "chain_id": "\(node.chainID)", "height": "\(head.height)",
                "entries": "\(head.treeSize)", "node_key": "\(node.nodeKey.keyID)",
                "snapshot_height": "\(node.recovery.snapshotHeight.map(String.init) ?? "none")",
            ])
        logDashboard(settings: settings, port: server.port, logger: logger)
        print("listening on port \(server.port)")
        fflush(nil)

        let signal = await shutdownSignals.first()
        logger.notice("shutting down", metadata: ["signal": "\(signal)"])
        metricsEndpoint?.stop()
        await server.shutdown(gracePeriod: .seconds(10))
    }

    /// Says where the dashboard is, or why a browser cannot reach it.
    private func logDashboard(settings: ServeSettings, port: Int, logger: Logger) {
        let dashboard = settings.dashboard
        if case .disabled = dashboard { return }
        let host = settings.host == "0.0.0.0" || settings.host == "::" ? "127.0.0.1" : settings.host
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var metadata: Logger.Metadata = ["url": "https://\(shownHost):\(port)/"]
        if case .directory(let path) = dashboard { metadata["dir"] = "\(path)" }
        if settings.plaintext {
            logger.warning(
                "dashboard served over plaintext HTTP/2, which browsers do not speak: serve TLS to use it",
                metadata: ["url": "http://\(shownHost):\(port)/"])
        } else {
            logger.notice("dashboard at https://\(shownHost):\(port)/", metadata: metadata)
        }
    }
}
