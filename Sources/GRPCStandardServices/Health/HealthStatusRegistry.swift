import GRPCProtos
import Synchronization

/// The serving status of the server and of each service it offers, shared by the server and `HealthService`.
///
/// The empty service name "" stands for the server as a whole (grpc doc/health-checking.md). Watchers get
/// the current status at once and then every change through an `AsyncStream` that holds only the newest
/// undelivered status, so a watcher that reads slowly costs one value, never a backlog.
public final class HealthStatusRegistry: Sendable {
    /// A service's health, as grpc.health.v1 reports it.
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    /// The name under which the server's overall health is kept.
    public static let server = ""

    private struct Watcher {
        let service: String
        let continuation: AsyncStream<ServingStatus>.Continuation
    }

    private struct State {
        var statuses: [String: ServingStatus]
        var watchers: [UInt64: Watcher] = [:]
        var nextWatcherID: UInt64 = 0
        var isShuttingDown = false
    }

    private let state: Mutex<State>

    /// Creates a registry where the server as a whole ("") has `serverStatus` and no service is registered.
    public init(serverStatus: ServingStatus = .serving) {
        state = Mutex(State(statuses: [Self.server: serverStatus]))
    }

    /// Registers or updates `service` ("" for the server) and tells its watchers. Ignored after
    /// `markAllNotServing()`, so a service cannot report SERVING again while the server drains.
    public func setStatus(_ status: ServingStatus, forService service: String) {
        state.withLock { state in
            guard !state.isShuttingDown else { return }
            state.statuses[service] = status
            // Yielding under the lock keeps every watcher's order of changes the order they were made.
            for watcher in state.watchers.values where watcher.service == service {
                watcher.continuation.yield(status)
            }
        }
    }

    /// Sets the server and every registered service to NOT_SERVING, tells their watchers, and ignores later
    /// `setStatus` calls: call it when a graceful shutdown starts draining, so clients move elsewhere.
    /// Watchers of unregistered services keep SERVICE_UNKNOWN.
    public func markAllNotServing() {
        state.withLock { state in
            state.isShuttingDown = true
            for service in state.statuses.keys {
                state.statuses[service] = .notServing
            }
            for watcher in state.watchers.values where state.statuses[watcher.service] != nil {
                watcher.continuation.yield(.notServing)
            }
        }
    }

    /// The status of `service`, or nil when it is not registered.
    public func status(forService service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Every registered name (the server's "" included) with its status.
    public func allStatuses() -> [String: ServingStatus] {
        state.withLock { $0.statuses }
    }

    /// The status of `service` now (SERVICE_UNKNOWN when it is not registered), then each later change.
    ///
    /// Holds only the newest status not yet read. The stream never finishes by itself; stopping the
    /// iteration (or cancelling its task) unregisters the watcher.
    public func statusUpdates(forService service: String) -> AsyncStream<ServingStatus> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = Watcher(service: service, continuation: continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.removeWatcher(id)
        }
        return stream
    }

    /// How many watchers are registered; for tests and diagnostics.
    public var watcherCount: Int {
        state.withLock { $0.watchers.count }
    }

    private func removeWatcher(_ id: UInt64) {
        state.withLock { state in
            _ = state.watchers.removeValue(forKey: id)
        }
    }
}
