import Foundation
import GRPCProtos
import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// One attack against a fresh in-process server: the raw peer script runs while a well-behaved Swift client
/// keeps making unary calls on the same event loop; what the script saw, what the server logged, the client's
/// latencies and the process's memory come back for the test to check.
struct AttackRun {
    /// `OBSERVED key=value` lines the script printed.
    let observed: [String: String]
    /// Everything the script printed.
    let output: String
    /// Lines the server wrote to its connection event log.
    let logLines: [String]
    /// The well-behaved client's p99 latency before and during the attack.
    let baselineP99: Duration
    let duringP99: Duration
    /// Calls the well-behaved client completed during the attack, and how many failed.
    let callsDuring: Int
    let failedCalls: [String]
    /// VmRSS of this process (KiB) before the attack, its peak during it, and after.
    let rssBefore: Int
    let rssPeak: Int
    let rssAfter: Int

    /// Latency a bystander may reach during an attack: twice its baseline, with a floor so scheduling noise on a
    /// loaded two-core machine is not mistaken for starvation (a starved loop shows up as seconds, not ms). With
    /// the other suites running in parallel, harmless attacks (a byte every 100 ms) measured p99s up to 64 ms.
    var latencyAllowance: Duration { max(baselineP99 * 2, .milliseconds(200)) }

    /// Starts a one-loop server (attacker and bystander share the loop), measures the bystander's baseline,
    /// runs script case `name`, keeps calling until the script exits, then runs `afterAttack` with the server
    /// still up.
    static func perform(
        _ name: String, _ configure: (inout ServerConfiguration) -> Void = { _ in },
        afterAttack: (TestServer) async -> Void = { _ in }
    ) async throws -> AttackRun {
        let log = EventLogLines()
        let server = try TestServer.start(loops: 1) { configuration in
            configuration.eventLog = ConnectionEventLog { line in log.append(line) }
            configure(&configuration)
        }
        let transport = try HTTP2ClientTransport(
            configuration: ClientConfiguration(host: "127.0.0.1", port: server.port))
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let options = CallOptions(timeout: .seconds(5))

        // Warm-up with a long deadline: when the suites start together, tests that block the cooperative pool
        // (synchronous waits on child processes) can stall any async code for seconds.
        let warmUp = CallOptions(timeout: .seconds(30))
        for _ in 0..<20 { _ = try await client.emptyCall(Grpc_Testing_Empty(), options: warmUp) }
        var baseline: [Duration] = []
        for _ in 0..<200 {
            let start = ContinuousClock.now
            _ = try await client.emptyCall(Grpc_Testing_Empty(), options: options)
            baseline.append(ContinuousClock.now - start)
        }

        let rssBefore = ProcessMemory.residentKiB()
        var rssPeak = rssBefore
        let finished = CompletionFlag()
        let script = Task {
            defer { finished.set() }
            return try await PythonRunner.run(AbusePeerScript.source, arguments: [String(server.port), name])
        }
        var during: [Duration] = []
        var failures: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        while !finished.isSet && ContinuousClock.now < deadline && during.count < 50_000 {
            let start = ContinuousClock.now
            do {
                _ = try await client.emptyCall(Grpc_Testing_Empty(), options: options)
            } catch {
                failures.append("\(error)")
            }
            during.append(ContinuousClock.now - start)
            if during.count % 16 == 0 { rssPeak = max(rssPeak, ProcessMemory.residentKiB()) }
        }
        let (_, output) = try await script.value
        await afterAttack(server)
        let rssAfter = ProcessMemory.residentKiB()
        rssPeak = max(rssPeak, rssAfter)
        await transport.close()
        await server.stop(grace: .milliseconds(100))

        var observed: [String: String] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("OBSERVED ") {
            let pair = line.dropFirst("OBSERVED ".count).split(separator: "=", maxSplits: 1)
            observed[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        let run = AttackRun(
            observed: observed, output: output, logLines: log.lines, baselineP99: percentile99(baseline),
            duringP99: percentile99(during), callsDuring: during.count, failedCalls: failures,
            rssBefore: rssBefore, rssPeak: rssPeak, rssAfter: rssAfter)
        print(run.summary(name))
        return run
    }

    /// One line for the test log: the server's answer and what the bystander and memory did.
    func summary(_ name: String) -> String {
        let answer = observed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "abuse \(name): \(answer) | bystander p99 \(baselineP99) -> \(duringP99) "
            + "over \(callsDuring) calls, \(failedCalls.count) failed "
            + "| VmRSS \(rssBefore) -> peak \(rssPeak), after \(rssAfter) KiB | log \(logLines)"
    }

    /// The server's event log holds exactly one line per fragment, each containing its fragment.
    func expectLogged(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(logLines.count == fragments.count, "log: \(logLines)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                logLines.contains { $0.contains(fragment) }, "no log line with \(fragment): \(logLines)",
                sourceLocation: sourceLocation)
        }
    }

    /// The well-behaved client made calls during the attack, none failed, and its p99 stayed within allowance.
    func expectBystanderServed(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(callsDuring >= 5, "only \(callsDuring) calls during the attack", sourceLocation: sourceLocation)
        #expect(failedCalls.isEmpty, "\(failedCalls.prefix(3))", sourceLocation: sourceLocation)
        #expect(
            duringP99 <= latencyAllowance, "p99 \(duringP99) over \(latencyAllowance) (baseline \(baselineP99))",
            sourceLocation: sourceLocation)
    }

    /// The process grew by less than `limitMiB` during the attack (the server runs in this process).
    func expectMemoryBounded(limitMiB: Int = 96, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            rssPeak - rssBefore < limitMiB * 1024, "VmRSS grew \((rssPeak - rssBefore) / 1024) MiB",
            sourceLocation: sourceLocation)
    }

    /// The script's observation `key`, for terse expectations.
    subscript(_ key: String) -> String? { observed[key] }
}

private func percentile99(_ samples: [Duration]) -> Duration {
    guard !samples.isEmpty else { return .zero }
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
}

/// This process's resident memory, from /proc/self/status.
enum ProcessMemory {
    /// VmRSS in KiB (0 when unreadable).
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

/// Lines a test server's connection event log received.
final class EventLogLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

/// Set once when a background task ends.
final class CompletionFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
