import AccessPolicy
import Foundation
import EtcdClient
import HTTP2Transport
import LedgerCrypto
import LedgerDomain
import LedgerNode
import Logging

/// The settings `serve` runs with: defaults, overridden by the config file, overridden by flags.
struct ServeSettings {
    /// A setting that cannot be used; one line naming it.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// The config file's keys (snake_case JSON).
    struct File: Decodable {
        var data_dir: String?
        var host: String?
        var port: Int?
        var chain_id: String?
        var plaintext: Bool?
        var tls_cert: String?
        var tls_key: String?
        var health_port: Int?
        var metrics_port: Int?
        var emergency_clinicians: [String]?
        var emergency_categories: [String]?
        var researchers: [String]?
        var max_emergency_duration_minutes: Int?
        var max_record_bytes: UInt64?
        var log_level: String?
        var snapshot_every_entries: UInt64?
        var snapshot_every_seconds: Double?
        var dashboard: Bool?
        var dashboard_dir: String?
        var web_allowed_origins: [String]?
        var rate_limit: String?
        var rate_burst: Int?
        var address_rate_limit: String?
        var address_rate_burst: Int?
        var etcd: [String]?
        var etcd_prefix: String?
        var etcd_ca_file: String?
        var etcd_cert_file: String?
        var etcd_key_file: String?
        var etcd_lease_ttl_seconds: Int?
        var advertise: String?
    }

    var dataDirectory: String
    var host: String
    var port: Int
    var plaintext: Bool
    var tlsCertificate: String?
    var tlsKey: String?
    var healthPort: Int?
    var metricsPort: Int?
    var logLevel: Logger.Level
    var nodeConfiguration: LedgerNodeConfiguration
    /// The page served to browsers (embedded by default).
    var dashboard: DashboardFiles = .embedded
    /// Origins allowed to call gRPC-Web cross-origin, normalised.
    var webAllowedOrigins: [String] = []
    /// Set when the node is one of a cluster ordered through etcd.
    var cluster: Cluster?

    /// How the node reaches its cluster's etcd.
    struct Cluster {
        var endpoints: [String]
        var prefix: String?
        var caFile: String?
        var certificateFile: String?
        var keyFile: String?
        var leaseTTLSeconds: Int64
        var advertisedAddress: String
    }

    static func resolve(flags: ServeCommand) throws(Problem) -> ServeSettings {
        var file = File()
        if let path = flags.config {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Problem(description: "--config \(path): cannot read the file")
            }
            do {
                file = try JSONDecoder().decode(File.self, from: data)
            } catch {
                throw Problem(description: "--config \(path): not a valid config file (\(describe(error)))")
            }
            // A misspelt key would otherwise be ignored, and the node start with a default instead (a cluster node
            // alone on its own chain, say).
            let known = Set(Mirror(reflecting: File()).children.compactMap(\.label))
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                    throw Problem(description: "--config \(path): unknown key \"\(unknown)\" (see serve --help for the keys)")
                }
            }
        }
        let dataDirectory = flags.dataDir ?? file.data_dir ?? defaultDataDirectory()
        let port = flags.port ?? file.port ?? 7443
        guard (0...65535).contains(port) else { throw Problem(description: "--port \(port): must be 0 to 65535") }
        let plaintext = flags.plaintext || (file.plaintext ?? false)
        let certificate = flags.tlsCert ?? file.tls_cert
        let key = flags.tlsKey ?? file.tls_key
        if (certificate == nil) != (key == nil) {
            throw Problem(description: "--tls-cert and --tls-key go together: give both or neither")
        }
        if plaintext && certificate != nil {
            throw Problem(description: "--plaintext and --tls-cert contradict each other: choose one")
        }
        let levelName = flags.logLevel ?? file.log_level ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw Problem(description: "--log-level \(levelName): use trace, debug, info, notice, warning, error or critical")
        }

        var rules = LedgerRules()
        let clinicians = flags.emergencyClinician.isEmpty ? (file.emergency_clinicians ?? []) : flags.emergencyClinician
        for clinician in clinicians {
            do {
                _ = try PrincipalID(parsing: clinician)
            } catch {
                throw Problem(description: "--emergency-clinician \(clinician): \(error)")
            }
        }
        rules.emergencyClinicians = Set(clinicians)
        let categoryNames = flags.emergencyCategory.isEmpty ? (file.emergency_categories ?? []) : flags.emergencyCategory
        if !categoryNames.isEmpty {
            var categories = CategorySet()
            for name in categoryNames {
                guard let category = DataCategory.named(name) else {
                    throw Problem(
                        description: "--emergency-category \(name): not a category (\(DataCategory.allCases.map(\.cliName).joined(separator: ", ")))")
                }
                if category.isSensitive {
                    throw Problem(description: "--emergency-category \(name): sensitive categories are never opened in an emergency")
                }
                categories.formUnion(CategorySet([category]))
            }
            rules.emergencyCategories = categories
        }
        if let minutes = flags.maxEmergencyDurationMinutes ?? file.max_emergency_duration_minutes {
            guard (1...480).contains(minutes) else {
                throw Problem(description: "--max-emergency-duration-minutes \(minutes): must be 1 to 480")
            }
            rules.maxEmergencyDurationMs = Int64(minutes) * 60_000
        }
        let researchers = flags.researcher.isEmpty ? (file.researchers ?? []) : flags.researcher
        for researcher in researchers {
            do {
                _ = try PrincipalID(parsing: researcher)
            } catch {
                throw Problem(description: "--researcher \(researcher): \(error)")
            }
        }
        let chainID = flags.chainId ?? file.chain_id ?? "healthledger-local"
        var configuration = LedgerNodeConfiguration(dataDirectory: dataDirectory, chainID: chainID, rules: rules)
        configuration.researchers = Set(researchers)
        if let maxRecordBytes = flags.maxRecordBytes ?? file.max_record_bytes {
            configuration.maxRecordBytes = maxRecordBytes
        }
        if let entries = flags.snapshotEveryEntries ?? file.snapshot_every_entries {
            configuration.snapshots.everyEntries = entries
        }
        if let seconds = flags.snapshotEverySeconds ?? file.snapshot_every_seconds {
            guard seconds >= 0, seconds.isFinite else {
                throw Problem(description: "--snapshot-every-seconds \(seconds): must be 0 (off) or more")
            }
            configuration.snapshots.everySeconds = seconds
        }
        configuration.rateLimits.perPrincipal = try rateLimit(
            flags.rateLimit ?? file.rate_limit, burst: flags.rateBurst ?? file.rate_burst,
            default: RateLimits.defaultPerPrincipal, names: ("--rate-limit", "--rate-burst"))
        configuration.rateLimits.perAddress = try rateLimit(
            flags.addressRateLimit ?? file.address_rate_limit, burst: flags.addressRateBurst ?? file.address_rate_burst,
            default: RateLimits.defaultPerAddress, names: ("--address-rate-limit", "--address-rate-burst"))
        let dashboard: DashboardFiles
        let dashboardDirectory = flags.dashboardDir ?? file.dashboard_dir
        if flags.noDashboard || file.dashboard == false {
            if flags.dashboardDir != nil {
                throw Problem(description: "--no-dashboard and --dashboard-dir contradict each other: choose one")
            }
            dashboard = .disabled
        } else if let dashboardDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dashboardDirectory, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { throw Problem(description: "--dashboard-dir \(dashboardDirectory): not a folder") }
            dashboard = .directory(dashboardDirectory)
        } else {
            dashboard = .embedded
        }
        var origins: [String] = []
        for origin in flags.webAllowedOrigin.isEmpty ? (file.web_allowed_origins ?? []) : flags.webAllowedOrigin {
            guard let normalized = ServerConfiguration.normalizedWebOrigin(origin) else {
                throw Problem(
                    description: "--web-allowed-origin \(origin): not an origin (scheme://host[:port], no path)")
            }
            origins.append(normalized)
        }
        var settings = ServeSettings(
            dataDirectory: dataDirectory, host: flags.host ?? file.host ?? "127.0.0.1", port: port,
            plaintext: plaintext, tlsCertificate: certificate, tlsKey: key,
            healthPort: flags.healthPort ?? file.health_port, metricsPort: flags.metricsPort ?? file.metrics_port,
            logLevel: level, nodeConfiguration: configuration)
        settings.dashboard = dashboard
        settings.webAllowedOrigins = origins
        settings.cluster = try cluster(flags: flags, file: file, host: settings.host, port: port)
        return settings
    }

    /// The cluster settings, when --etcd names etcd's endpoints.
    static func cluster(flags: ServeCommand, file: File, host: String, port: Int) throws(Problem) -> Cluster? {
        let endpoints = flags.etcd.isEmpty ? (file.etcd ?? []) : flags.etcd.flatMap { $0.split(separator: ",").map(String.init) }
        let caFile = flags.etcdCaFile ?? file.etcd_ca_file
        let certificate = flags.etcdCertFile ?? file.etcd_cert_file
        let key = flags.etcdKeyFile ?? file.etcd_key_file
        guard !endpoints.isEmpty else {
            if caFile != nil || certificate != nil || flags.etcdPrefix != nil || file.etcd_prefix != nil {
                throw Problem(description: "--etcd-* settings need --etcd, the etcd endpoints of the cluster")
            }
            return nil
        }
        if (certificate == nil) != (key == nil) {
            throw Problem(description: "--etcd-cert-file and --etcd-key-file go together: give both or neither")
        }
        let ttl = flags.etcdLeaseTtl ?? file.etcd_lease_ttl_seconds ?? 5
        guard (2...60).contains(ttl) else { throw Problem(description: "--etcd-lease-ttl \(ttl): must be 2 to 60 seconds") }
        guard port != 0 || flags.advertise != nil || file.advertise != nil else {
            throw Problem(description: "--port 0 in a cluster needs --advertise host:port, the address clients reach this node at")
        }
        return Cluster(
            endpoints: endpoints, prefix: flags.etcdPrefix ?? file.etcd_prefix, caFile: caFile,
            certificateFile: certificate, keyFile: key, leaseTTLSeconds: Int64(ttl),
            advertisedAddress: flags.advertise ?? file.advertise ?? "\(host):\(port)")
    }

    /// A rate limit from its settings: `rate` is "N/s", "N/min" or "N/h" (a bare N is per second), "off" or 0 for
    /// none; `burst` defaults to twice the calls per period, or the default limit's burst when only it is given.
    static func rateLimit(
        _ rate: String?, burst: Int?, default defaultLimit: RateLimit?, names: (rate: String, burst: String)
    ) throws(Problem) -> RateLimit? {
        guard let rate else {
            guard let burst else { return defaultLimit }
            guard let defaultLimit else { throw Problem(description: "\(names.burst) \(burst): the limit is off") }
            guard let limit = RateLimit(
                calls: Int(defaultLimit.calls), per: .nanoseconds(defaultLimit.periodNanoseconds), burst: burst)
            else { throw Problem(description: "\(names.burst) \(burst): must be 1 to \(RateLimit.maxCalls)") }
            return limit
        }
        let text = rate.lowercased()
        if text == "off" || text == "0" {
            if let burst { throw Problem(description: "\(names.burst) \(burst): \(names.rate) is off") }
            return nil
        }
        let parts = text.split(separator: "/", maxSplits: 1)
        let period: Duration?
        switch parts.count == 2 ? String(parts[1]) : "s" {
        case "s", "sec", "second": period = .seconds(1)
        case "m", "min", "minute": period = .seconds(60)
        case "h", "hour": period = .seconds(3_600)
        default: period = nil
        }
        guard let period, let calls = parts.first.flatMap({ Int($0) }), calls > 0 else {
            throw Problem(description: "\(names.rate) \(rate): expected calls per period (200/s, 600/min, 10000/h) or off")
        }
        let chosenBurst = burst ?? min(calls, Int(RateLimit.maxCalls) / 2) * 2
        guard let limit = RateLimit(calls: calls, per: period, burst: chosenBurst) else {
            throw Problem(
                description: "\(names.rate) \(rate) \(names.burst) \(chosenBurst): calls and burst must be 1 to \(RateLimit.maxCalls)")
        }
        return limit
    }

    /// $XDG_DATA_HOME/healthledger, or ~/.local/share/healthledger.
    static func defaultDataDirectory() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let base = environment["XDG_DATA_HOME"], !base.isEmpty { return base + "/healthledger" }
        let home = environment["HOME"] ?? "."
        return home + "/.local/share/healthledger"
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

extension DataCategory {
    /// The lowercase name used on the command line, e.g. "allergies", "clinical-notes".
    var cliName: String {
        protoName.dropFirst("DATA_CATEGORY_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// The category with this command-line or proto name.
    static func named(_ name: String) -> DataCategory? {
        let normalized = name.lowercased().replacingOccurrences(of: "_", with: "-")
        return allCases.first { $0.cliName == normalized || $0.protoName.lowercased() == name.lowercased() }
    }
}

extension ServeSettings.Cluster {
    /// The node's cluster settings, with a client of the etcd endpoints (nothing connects yet).
    func settings() throws -> ClusterSettings {
        let parsed = try endpoints.map { (text) throws(EtcdError) in try EtcdEndpoint(parsing: text) }
        var tls: TLSClientConfiguration?
        if caFile != nil || certificateFile != nil || endpoints.contains(where: { $0.lowercased().hasPrefix("https://") }) {
            tls = TLSClientConfiguration(
                trustRootsPEMPath: caFile, certificateChainPEMPath: certificateFile, privateKeyPEMPath: keyFile)
        }
        var settings = ClusterSettings(
            etcd: try EtcdClient(endpoints: parsed, tls: tls), prefix: prefix, advertisedAddress: advertisedAddress)
        settings.leaseTTLSeconds = leaseTTLSeconds
        return settings
    }
}
