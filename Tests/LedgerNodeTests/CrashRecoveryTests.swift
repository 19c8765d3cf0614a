import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

/// kill -9 under a load of writes, grants and revokes, restart, and check that nothing acknowledged was lost,
/// nothing unacknowledged is half there, and the chain verifies (over the API, and offline with
/// `healthledger verify --data-dir --transactions` after each restart). The node writes a snapshot every 10 entries
/// and is never stopped cleanly, so every snapshot on disk is a periodic one (some cut short by the kill), and every
/// restart must start from the newest one there. Iterations: HEALTHLEDGER_CRASH_ITERATIONS (default 10); seed:
/// HEALTHLEDGER_CRASH_SEED (default random, printed so a failure can be replayed). The last line printed sums up the
/// run: iterations, acknowledged transactions, restarts and how many acknowledged ones were lost (must be 0).
@Suite("Crash recovery of a real node process", .serialized)
struct CrashRecoveryTests {
    @Test(
        "every acknowledged write, grant and revoke survives kill -9 at a random moment, and the chain verifies after restart"
    )
    func killNineUnderLoad() async throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations = Int(environment["HEALTHLEDGER_CRASH_ITERATIONS"] ?? "") ?? 10
        let seed = UInt64(environment["HEALTHLEDGER_CRASH_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("crash recovery: \(iterations) iterations, seed \(seed)")
        var generator = SeededGenerator(seed: seed)
        let directory = try LedgerTestNode.makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + ".serve.log")
        }
        let writers = (0..<6).map { _ in LedgerIdentity.generate() }
        var acknowledged: [String: Acknowledged] = [:]
        var restartsFromSnapshot = 0
        var lost = 0
        let started = ContinuousClock.now

        for iteration in 0..<iterations {
            let process = try NodeProcess(dataDirectory: directory)
            let killAfter = Duration.milliseconds(Int.random(in: 20...400, using: &generator))
            let load = WriteLoad(port: process.port, writers: writers, iteration: iteration)
            let loadTask = Task { await load.run() }
            try await Task.sleep(for: killAfter)
            process.kill9()
            loadTask.cancel()
            for (writer, done) in await loadTask.value { acknowledged[writer, default: Acknowledged()].add(done) }

            // Written atomically (temporary file, rename), so any snapshot file there is whole and must be used.
            let snapshotOnDisk = NodeProcess.newestSnapshotHeight(in: directory)
            let restarted = try NodeProcess(dataDirectory: directory)
            #expect(
                restarted.snapshotHeight == snapshotOnDisk,
                "iteration \(iteration): started from snapshot \(restarted.snapshotHeight.map(String.init) ?? "none"), the newest on disk is \(snapshotOnDisk.map(String.init) ?? "none")")
            if restarted.snapshotHeight != nil { restartsFromSnapshot += 1 }
            let checked = try await verify(
                port: restarted.port, writers: writers, acknowledged: acknowledged, iteration: iteration)
            lost += checked.lost
            restarted.kill9()
            // The same checks as an operator's `healthledger verify --data-dir`, on the files the restarted node left.
            let offline = try Self.verifyDataDirectory(directory)
            #expect(offline.status == 0, "iteration \(iteration): verify --data-dir: \(offline.stderr)")
            let summary = try offline.json()
            #expect(summary["verified"] as? Bool == true)
            #expect(
                (summary["height"] as? Int).map(UInt64.init) == checked.height,
                "iteration \(iteration): verify --data-dir saw another height than the restarted node served")
        }
        let total = acknowledged.values.reduce(Acknowledged()) { $0.merged($1) }
        let elapsed = ContinuousClock.now - started
        print(
            "crash recovery: \(iterations) iterations (seed \(seed)), \(total.transactions) acknowledged transactions "
                + "(\(total.records.count) writes, \(total.grants.count) grants, \(total.revoked.count) revokes), "
                + "\(iterations) restarts (\(restartsFromSnapshot) from a periodic snapshot), each verified; "
                + "data lost: \(lost); \(elapsed.components.seconds) s")
        #expect(lost == 0)
        #expect(total.records.count > 0, "the load wrote nothing")
        #expect(total.grants.count > 0 && total.revoked.count > 0, "the load granted or revoked nothing")
        #expect(iterations < 3 || restartsFromSnapshot > 0, "no restart found a periodic snapshot to start from")
    }

    /// `healthledger verify --data-dir <directory> --transactions --json`, run as the CLI binary.
    static func verifyDataDirectory(_ directory: String) throws -> CommandLineResult {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        return workspace.run(["verify", "--data-dir", directory, "--transactions", "--json"], server: "127.0.0.1:1")
    }

    /// Checks the restarted node against what was acknowledged; returns the chain height it serves and how many
    /// acknowledged transactions it lacks.
    private func verify(
        port: Int, writers: [LedgerIdentity], acknowledged: [String: Acknowledged], iteration: Int
    ) async throws -> (height: UInt64, lost: Int) {
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        defer { Task { await transport.close() } }
        var lost = 0
        for writer in writers {
            let client = LedgerClient(transport: transport, identity: writer)
            let expected = acknowledged[writer.id] ?? Acknowledged()
            guard expected.transactions > 0 else { continue }
            var request = Healthledger_V1_QueryRequest.of(writer.id, [.labs], purpose: .patientRequest)
            request.maxRecords = 10_000
            let result = try await client.query(request)
            let stored = Dictionary(
                result.records.map { ($0.record.recordId, $0.content) }, uniquingKeysWith: { first, _ in first })
            for record in expected.records where stored[record.recordID] != record.content {
                lost += 1
                Issue.record(
                    "iteration \(iteration): acknowledged record \(record.recordID) of \(writer.id) lost or changed")
            }
            // Every record there is complete: its content hashes to what its metadata says.
            for (record, content) in result.records {
                #expect(
                    SHA256.hash(content) == record.metadata?.contentSha256,
                    "iteration \(iteration): a half-written record")
            }
            // Every acknowledged grant is there, and revoked if its revoke was acknowledged (one in flight at the kill
            // may or may not have landed).
            let grants = try await Self.grants(of: writer.id, client: client)
            for grantID in expected.grants {
                guard let grant = grants[grantID] else {
                    lost += 1
                    Issue.record("iteration \(iteration): acknowledged grant \(grantID) of \(writer.id) lost")
                    continue
                }
                if expected.revoked.contains(grantID) && grant.state != .revoked {
                    lost += 1
                    Issue.record("iteration \(iteration): acknowledged revoke of \(grantID) lost (\(grant.state))")
                }
            }
            for (grantID, grant) in grants {
                #expect(
                    grant.grant?.patient == writer.id && grant.grant?.actions == [.read]
                        && grant.grant?.categories == [.labs],
                    "iteration \(iteration): grant \(grantID) is not one the load made")
            }
            // The ledger holds every acknowledged transaction of the writer, and beyond them at most the one that was
            // in flight at each kill: a transaction is in the chain whole or not at all.
            var principalRequest = Healthledger_V1_GetPrincipalRequest()
            principalRequest.principalId = writer.id
            let principal = try await client.stub.getPrincipal(
                principalRequest, options: try await client.authenticated()
            ).principal
            let committed = Int((principal?.nextSequence ?? 1) - 1)
            let acknowledgedCount = expected.transactions
            #expect(
                committed >= acknowledgedCount && committed <= acknowledgedCount + iteration + 1,
                "iteration \(iteration): \(writer.id): \(committed) committed, \(acknowledgedCount) acknowledged")
        }
        // The chain links, every header is signed by the node key, and the last checkpoint matches.
        let stub = Healthledger_V1_LedgerClient(transport: transport)
        let head = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        let nodeKey = try SigningPublicKey(
            algorithm: .ed25519, rawBytes: head.nodeKeys.first?.publicKey?.keyBytes ?? [])
        var request = Healthledger_V1_GetBlocksRequest()
        request.startHeight = 1
        var previousHash = [UInt8](repeating: 0, count: 32)
        var height: UInt64 = 0
        for try await message in try await stub.getBlocks(request) {
            let signed = try #require(message.block)
            let header = try Healthledger_V1_BlockHeader(serializedBytes: signed.header)
            height += 1
            #expect(header.height == height)
            #expect(header.previousBlockHash == previousHash, "iteration \(iteration): block \(height) does not link")
            #expect(nodeKey.isValidSignature(
                signed.signature, for: ContextLabel.message(context: ContextLabel.blockHeader, payload: signed.header)))
            previousHash = SHA256.hash(signed.header)
        }
        #expect(height == head.height)
        return (head.height, lost)
    }

    /// Every grant of `patient` (inactive ones included), by grant id.
    private static func grants(of patient: String, client: LedgerClient<HTTP2ClientTransport>) async throws
        -> [String: Healthledger_V1_GrantRecord]
    {
        var grants: [String: Healthledger_V1_GrantRecord] = [:]
        var request = Healthledger_V1_ListGrantsRequest()
        request.patient = patient
        request.includeInactive = true
        request.pageSize = 1_000
        repeat {
            let page = try await client.stub.listGrants(request, options: try await client.authenticated())
            for grant in page.grants { grants[grant.grantId] = grant }
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return grants
    }
}

/// What the node acknowledged to one writer: records written (with their content), grants made, grants revoked.
struct Acknowledged: Sendable {
    var records: [(recordID: String, content: [UInt8])] = []
    var grants: [String] = []
    var revoked: Set<String> = []

    /// Transactions acknowledged: writes, grants and revokes.
    var transactions: Int { records.count + grants.count + revoked.count }

    mutating func add(_ other: Acknowledged) {
        records += other.records
        grants += other.grants
        revoked.formUnion(other.revoked)
    }

    func merged(_ other: Acknowledged) -> Acknowledged {
        var sum = self
        sum.add(other)
        return sum
    }
}

/// A `healthledger serve` child process on a free port over h2c, writing a snapshot every 10 entries.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// The snapshot it started from, as its "serving" log line says (nil: it replayed the whole block log).
    let snapshotHeight: UInt64?

    init(dataDirectory: String) throws {
        process.executableURL = Self.executable
        process.arguments = [
            "serve", "--data-dir", dataDirectory, "--plaintext", "--port", "0", "--chain-id", "crash-test",
            "--log-level", "notice", "--snapshot-every-entries", "10",
        ]
        let output = Pipe()
        process.standardOutput = output
        let logPath = dataDirectory + ".serve.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        process.standardError = log
        try process.run()
        var line: [UInt8] = []
        let handle = output.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { throw NodeProcessError("healthledger serve exited before listening") }
            if byte.first == UInt8(ascii: "\n") { break }
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening on port "), let port = Int(text.dropFirst("listening on port ".count)) else {
            throw NodeProcessError("unexpected first line: \(text)")
        }
        self.port = port
        // The "serving" notice is logged before the port is printed.
        let logged = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        guard let serving = logged.split(separator: "\n").last(where: { $0.hasSuffix("serving") }),
            let field = serving.split(separator: " ").first(where: { $0.hasPrefix("snapshot_height=") })
        else { throw NodeProcessError("no \"serving\" line with snapshot_height in the log:\n\(logged)") }
        snapshotHeight = UInt64(field.dropFirst("snapshot_height=".count))
    }

    /// The height of the newest snapshot file in the data directory (temporary files left by a kill do not count).
    static func newestSnapshotHeight(in dataDirectory: String) -> UInt64? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/snapshots")) ?? []
        return names.filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".bin") }
            .compactMap { UInt64($0.dropFirst("snapshot-".count).dropLast(".bin".count)) }.max()
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        process.terminate()
        process.waitUntilExit()
    }

    /// The healthledger binary built beside this test bundle.
    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("healthledger")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/healthledger")
    }
}

struct NodeProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writers writing lab records back to back until cancelled, each fourth step granting a colleague read access to
/// their labs instead and each eighth revoking the grant made before; returns what the node acknowledged.
struct WriteLoad: Sendable {
    let port: Int
    let writers: [LedgerIdentity]
    let iteration: Int

    func run() async -> [String: Acknowledged] {
        await withTaskGroup(of: (String, Acknowledged).self) { group in
            for (position, writer) in writers.enumerated() {
                let colleague = writers[(position + 1) % writers.count].id
                group.addTask {
                    var done = Acknowledged()
                    guard let transport = try? HTTP2ClientTransport(
                        configuration: ClientConfiguration(host: "127.0.0.1", port: port))
                    else { return (writer.id, done) }
                    let client = LedgerClient(transport: transport, identity: writer)
                    var index = 0
                    while !Task.isCancelled {
                        do {
                            if index % 8 == 7, let grantID = done.grants.last, !done.revoked.contains(grantID) {
                                _ = try await client.revoke(grantID: grantID)
                                done.revoked.insert(grantID)
                            } else if index % 4 == 3 {
                                let granted = try await client.grant(
                                    .permit(to: colleague, actions: [.read], categories: [.labs]))
                                done.grants.append(granted.grantId)
                            } else {
                                let label = Array("iteration \(iteration) record \(index) of \(writer.id)".utf8)
                                let content =
                                    label
                                    + [UInt8](repeating: UInt8(index % 251), count: index % 3 == 0 ? 70_000 : 100)
                                let response = try await client.write(
                                    patient: writer.id, category: .labs, content: content, mediaType: "text/plain")
                                done.records.append((response.recordId, content))
                            }
                        } catch let error as RPCError where error.code == .resourceExhausted {
                            // Over the node's per-principal rate limit: wait and go on, as a well-behaved client does.
                            try? await Task.sleep(for: .milliseconds(50))
                            continue
                        } catch {
                            break
                        }
                        index += 1
                    }
                    await transport.close()
                    return (writer.id, done)
                }
            }
            var all: [String: Acknowledged] = [:]
            for await (writer, done) in group { all[writer, default: Acknowledged()].add(done) }
            return all
        }
    }
}

/// SplitMix64, so a failing run can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
