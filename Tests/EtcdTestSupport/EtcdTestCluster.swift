import EtcdClient
import Foundation
import Glibc
import HTTP2Transport

/// Real etcd servers (Debian's etcd-server, /usr/bin/etcd) run as child processes on free loopback ports, each with
/// a temporary data directory: one member or a cluster of several, plaintext or TLS. `EtcdTestCluster.with` kills
/// them (SIGKILL) and removes their directories however the test ends.
public final class EtcdTestCluster: @unchecked Sendable {
    /// One running (or killed) member.
    public struct Member {
        public var name: String
        public var clientPort: Int
        public var peerPort: Int
        public var process: Process
        /// Where the member's output goes, shown when it does not come up.
        public var logPath: String
        public var endpoint: EtcdEndpoint { EtcdEndpoint(host: "127.0.0.1", port: clientPort) }
    }

    /// The certificate files of a TLS cluster: etcd serves `certificatePath` and trusts `certificateAuthorityPath`
    /// for client certificates when `requireClientCertificates`.
    public struct TLSFiles {
        public var certificates: DevelopmentCertificate
        public var requireClientCertificates: Bool

        public init(certificates: DevelopmentCertificate, requireClientCertificates: Bool) {
            self.certificates = certificates
            self.requireClientCertificates = requireClientCertificates
        }
    }

    public private(set) var members: [Member] = []
    public let directory: String
    public let tls: TLSFiles?

    /// The members' client endpoints, in member order.
    public var endpoints: [EtcdEndpoint] { members.map(\.endpoint) }

    private init(directory: String, tls: TLSFiles?) {
        self.directory = directory
        self.tls = tls
    }

    /// The etcd binary, or a failed test saying how to get one (never a silent skip).
    public static func etcdBinary() throws -> String {
        let candidates = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw EtcdNotInstalled()
        }
        return binary
    }

    /// Starts `size` members (one cluster), runs `body` with it, and kills every member afterwards.
    public static func with<Result>(
        size: Int = 1, tls: TLSFiles? = nil, _ body: (EtcdTestCluster) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hl-etcd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cluster = EtcdTestCluster(directory: directory, tls: tls)
        defer { cluster.killAll() }
        try cluster.start(size: size)
        try await cluster.waitUntilServing()
        return try await body(cluster)
    }

    private func start(size: Int) throws {
        let binary = try Self.etcdBinary()
        let scheme = tls == nil ? "http" : "https"
        var ports: [(client: Int, peer: Int)] = []
        for _ in 0..<size { ports.append((try Self.freePort(), try Self.freePort())) }
        let initialCluster = ports.enumerated()
            .map { "member\($0.offset)=http://127.0.0.1:\($0.element.peer)" }.joined(separator: ",")
        let token = "hl-test-\(UUID().uuidString.prefix(8))"
        for (index, port) in ports.enumerated() {
            let name = "member\(index)"
            let clientURL = "\(scheme)://127.0.0.1:\(port.client)"
            let peerURL = "http://127.0.0.1:\(port.peer)"
            var arguments = [
                "--name", name, "--data-dir", "\(directory)/\(name).etcd",
                "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
                "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
                "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", token,
                // Quick elections, so a cluster that lost a member carries on within a second.
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--logger", "zap", "--log-level", "warn",
            ]
            if let tls {
                arguments += [
                    "--cert-file", tls.certificates.certificatePath, "--key-file", tls.certificates.privateKeyPath,
                ]
                if tls.requireClientCertificates {
                    arguments += ["--client-cert-auth", "--trusted-ca-file", tls.certificates.certificateAuthorityPath]
                }
            }
            let logPath = "\(directory)/\(name).log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try log.close()
            members.append(
                Member(name: name, clientPort: port.client, peerPort: port.peer, process: process, logPath: logPath))
        }
    }

    /// How many times slower than a plain build the tests run ($HEALTHLEDGER_TEST_TIME_SCALE, which the sanitized
    /// runs set): etcd, started beside them, comes up that much slower too.
    public static var timeScale: Int {
        max(1, Int(ProcessInfo.processInfo.environment["HEALTHLEDGER_TEST_TIME_SCALE"] ?? "") ?? 1)
    }

    /// Waits (at most 30 s, stretched by the time scale) until every member answers Status over its client URL and
    /// the cluster has a leader.
    private func waitUntilServing() async throws {
        let client = try EtcdClient(endpoints: endpoints, tls: clientTLS(), callTimeout: .seconds(2))
        let deadline = ContinuousClock.now.advanced(by: .seconds(30 * Self.timeScale))
        for member in members {
            while true {
                if let status = try? await client.status(of: member.endpoint), status.leader != 0 { break }
                if !member.process.isRunning || ContinuousClock.now > deadline {
                    await client.close()
                    let log = (try? String(contentsOfFile: member.logPath, encoding: .utf8)) ?? ""
                    throw EtcdDidNotStart(member: member.name, log: String(log.suffix(4000)))
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        await client.close()
    }

    /// A client TLS configuration for this cluster: trusting its CA, with `certificate` when given.
    public func clientTLS(certificate: DevelopmentCertificate.IssuedCertificate? = nil) -> TLSClientConfiguration? {
        guard let tls else { return nil }
        let certificate =
            certificate
            ?? (tls.requireClientCertificates ? Self.clientCertificate(of: tls.certificates) : nil)
        return TLSClientConfiguration(
            trustRootsPEMPath: tls.certificates.certificateAuthorityPath,
            certificateChainPEMPath: certificate?.certificatePath, privateKeyPEMPath: certificate?.privateKeyPath)
    }

    /// The client certificate the tests present to a cluster that requires one (made once per CA).
    public static func clientCertificate(of certificates: DevelopmentCertificate) -> DevelopmentCertificate.IssuedCertificate?
    {
        try? certificates.issueClientCertificate(commonName: "healthledger-node", name: "etcd-client")
    }

    /// A client of every member, with `callTimeout`.
    public func client(callTimeout: Duration = .seconds(5)) throws -> EtcdClient {
        try EtcdClient(endpoints: endpoints, tls: clientTLS(), callTimeout: callTimeout)
    }

    /// Kills member `index` at once (SIGKILL), as a crash would.
    public func kill(member index: Int) {
        let process = members[index].process
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Kills every member still running and removes the data directories.
    public func killAll() {
        for index in members.indices { kill(member: index) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A loopback port nothing listens on right now (the kernel's choice for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NoFreePort() }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw NoFreePort() }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// etcd is not installed: the tests fail saying how to get it (never a silent skip).
public struct EtcdNotInstalled: Error, CustomStringConvertible {
    public var description: String { "etcd is not installed (Debian's etcd-server): run scripts/setup, which installs it" }
}

/// The kernel gave no free loopback port.
public struct NoFreePort: Error {}

/// A member that did not answer in time, with the end of its log.
public struct EtcdDidNotStart: Error, CustomStringConvertible {
    public var member: String
    public var log: String
    public var description: String { "etcd \(member) did not come up; its log:\n\(log)" }
}
