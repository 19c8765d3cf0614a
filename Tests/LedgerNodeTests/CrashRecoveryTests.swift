import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

/// kill -9 under a write load, restart, and check that nothing acknowledged was lost, nothing unacknowledged is
/// half there, and the chain verifies. The node writes a snapshot every 10 entries and is never stopped cleanly, so
/// every snapshot on disk is a periodic one (some cut short by the kill), and every restart must start from the
/// newest one there. Iterations: HEALTHLEDGER_CRASH_ITERATIONS (default 10); seed: HEALTHLEDGER_CRASH_SEED (default
/// random, printed so a failure can be replayed).
@Suite("Crash recovery of a real node process", .serialized)
struct CrashRecoveryTests {
    @Test("every acknowledged write survives kill -9 at a random moment, and the chain verifies after restart")
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
        var acknowledged: [String: [(recordID: String, content: [UInt8])]] = [:]
        var restartsFromSnapshot = 0

        for iteration in 0..<iterations {
            let process = try NodeProcess(dataDirectory: directory)
            let killAfter = Duration.milliseconds(Int.random(in: 20...400, using: &generator))
            let load = WriteLoad(port: process.port, writers: writers, iteration: iteration)
            let loadTask = Task { await load.run() }
            try await Task.sleep(for: killAfter)
            process.kill9()
            loadTask.cancel()
            for (writer, records) in await loadTask.value { acknowledged[writer, default: []] += records }

            // Written atomically (temporary file, rename), so any snapshot file there is whole and must be used.
            let snapshotOnDisk = NodeProcess.newestSnapshotHeight(in: directory)
            let restarted = try NodeProcess(dataDirectory: directory)
            #expect(
                restarted.snapshotHeight == snapshotOnDisk,
                "iteration \(iteration): started from snapshot \(restarted.snapshotHeight.map(String.init) ?? "none"), the newest on disk is \(snapshotOnDisk.map(String.init) ?? "none")")
            if restarted.snapshotHeight != nil { restartsFromSnapshot += 1 }
            try await verify(port: restarted.port, writers: writers, acknowledged: acknowledged, iteration: iteration)
            restarted.kill9()
        }
        let total = acknowledged.values.reduce(0) { $0 + $1.count }
        print("crash recovery: \(total) acknowledged writes survived \(iterations) kills, \(restartsFromSnapshot) restarts from a periodic snapshot")
        #expect(total > 0, "the load wrote nothing")
        #expect(iterations < 3 || restartsFromSnapshot > 0, "no restart found a periodic snapshot to start from")
    }

    private func verify(
        port: Int, writers: [LedgerIdentity], acknowledged: [String: [(recordID: String, content: [UInt8])]],
        iteration: Int
    ) async throws {
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        defer { Task { await transport.close() } }
        for writer in writers {
            let client = LedgerClient(transport: transport, identity: writer)
            let expected = acknowledged[writer.id] ?? []
            guard !expected.isEmpty else { continue }
            var request = Healthledger_V1_QueryRequest.of(writer.id, [.labs], purpose: .patientRequest)
            request.maxRecords = 10_000
            let result = try await client.query(request)
            let stored = Dictionary(
                result.records.map { ($0.record.recordId, $0.content) }, uniquingKeysWith: { first, _ in first })
            for record in expected {
                #expect(stored[record.recordID] == record.content, "iteration \(iteration): acknowledged record \(record.recordID) of \(writer.id) lost or changed")
            }
            // Every record there is complete: its content hashes to what its metadata says.
            for (record, content) in result.records {
                #expect(SHA256.hash(content) == record.metadata?.contentSha256, "iteration \(iteration): a half-written record")
            }
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

/// Writers writing lab records back to back until cancelled; returns what the node acknowledged.
struct WriteLoad: Sendable {
    let port: Int
    let writers: [LedgerIdentity]
    let iteration: Int

    func run() async -> [String: [(recordID: String, content: [UInt8])]] {
        await withTaskGroup(of: (String, [(recordID: String, content: [UInt8])]).self) { group in
            for writer in writers {
                group.addTask {
                    var written: [(recordID: String, content: [UInt8])] = []
                    guard let transport = try? HTTP2ClientTransport(
                        configuration: ClientConfiguration(host: "127.0.0.1", port: port))
                    else { return (writer.id, written) }
                    let client = LedgerClient(transport: transport, identity: writer)
                    var index = 0
                    while !Task.isCancelled {
                        let content = Array("iteration \(iteration) record \(index) of \(writer.id)".utf8)
                            + [UInt8](repeating: UInt8(index % 251), count: index % 3 == 0 ? 70_000 : 100)
                        do {
                            let response = try await client.write(
                                patient: writer.id, category: .labs, content: content, mediaType: "text/plain")
                            written.append((response.recordId, content))
                        } catch {
                            break
                        }
                        index += 1
                    }
                    await transport.close()
                    return (writer.id, written)
                }
            }
            var all: [String: [(recordID: String, content: [UInt8])]] = [:]
            for await (writer, records) in group { all[writer, default: []] += records }
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
