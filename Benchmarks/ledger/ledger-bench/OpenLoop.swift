import HTTP2Transport
import HealthLedgerClient
import Synchronization

/// A fixed-rate (open-loop) schedule: request `i` is due at `start + i / rate`, whether or not earlier ones
/// have answered, so a slow server shows up as latency instead of slowing the load down. Latencies are taken
/// from the due time, so the generator's own lateness counts against the server, never for it.
enum OpenLoop {
    /// How late requests were launched (launch time minus due time), to tell generator lag from server time.
    struct Schedule: Sendable {
        var launched: Int
        var launchLag: LatencySamples
        var elapsedNs: Int64
    }

    /// Launches `rate` requests per second for `seconds`; `request(i, due)` runs each as its own task.
    static func run(
        rate: Double, seconds: Double, _ request: @escaping @Sendable (Int, Int64) async -> Void
    ) async -> Schedule {
        let interval = 1e9 / rate
        let total = Int(rate * seconds)
        let start = Clock.now() + 1_000_000
        var lag = LatencySamples()
        await withDiscardingTaskGroup { group in
            var index = 0
            while index < total {
                let now = Clock.now()
                while index < total {
                    let due = start + Int64(Double(index) * interval)
                    guard due <= now else { break }
                    let current = index
                    lag.add(now - due)
                    group.addTask { await request(current, due) }
                    index += 1
                }
                if index < total { await Clock.sleep(until: start + Int64(Double(index) * interval)) }
            }
        }
        return Schedule(launched: total, launchLag: lag, elapsedNs: Clock.now() - start)
    }
}

/// Sessions for the identities the scenarios read as.
enum Sessions {
    /// A session token for `identity` (creating the session signs one challenge).
    static func token(for identity: LedgerIdentity, through transport: HTTP2ClientTransport) async throws -> String {
        try await LedgerClient(transport: transport, identity: identity).sessionToken()
    }
}
