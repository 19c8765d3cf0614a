import EtcdProtos
import RPCCore

/// Keeps one lease alive: a LeaseKeepAlive stream to one member at a time, renewing the lease as soon as it opens
/// and then every TTL/3. When the stream breaks, or a renewal goes unanswered for the client's call timeout, it
/// says so and goes on with the next endpoint. It ends when etcd reports the lease gone (TTL <= 0: `expired`),
/// when no member could be reached for longer than the lease can live (`failed`), when the client is closed, or
/// on `cancel()`, which is also what releasing the handle does.
public final class EtcdLeaseKeepAlive: Sendable {
    /// The lease kept alive.
    public let lease: Int64
    /// What happens to the keep-alive, in order; it finishes when the keep-alive ends. Only the newest 64 events
    /// are kept for a consumer that falls behind (the last one is always there).
    public let events: AsyncStream<Event>
    private let task: Task<Void, Never>

    /// Something that happened to the keep-alive.
    public enum Event: Sendable, Hashable {
        /// `endpoint` renewed the lease: it now lives `ttl` more seconds.
        case renewed(ttl: Int64, endpoint: EtcdEndpoint)
        /// The stream to a member broke, or went unanswered; the keep-alive goes on with the next endpoint.
        case streamLost(EtcdEndpointFailure)
        /// etcd says the lease no longer exists (it expired or was revoked): its keys are deleted. The last event.
        case expired
        /// The keep-alive gave up (client closed, no member reachable for the lease's TTL, or an error from etcd).
        /// The last event.
        case failed(EtcdError)
    }

    init(lease: Int64, client: EtcdClient) {
        self.lease = lease
        let (events, sink) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(64))
        self.events = events
        task = Task {
            await Self.run(lease: lease, client: client, sink: sink)
            sink.finish()
        }
    }

    deinit {
        task.cancel()
    }

    /// Stops renewing the lease (it then expires after its TTL unless revoked or kept alive elsewhere).
    public func cancel() {
        task.cancel()
    }

    /// How one member's stream ended.
    private enum StreamEnd {
        case expired
        case cancelled
        case lost(RPCError, renewed: Bool)
        case failed(EtcdError)
    }

    /// What the loop waiting on a stream hears.
    private enum Signal: Sendable {
        case response(Etcdserverpb_LeaseKeepAliveResponse)
        case failed(RPCError)
        case ended
        case unanswered(renewal: Int)
    }

    /// Keeps the lease alive on one member after another until the keep-alive ends.
    private static func run(lease: Int64, client: EtcdClient, sink: AsyncStream<Event>.Continuation) async {
        let clock = ContinuousClock()
        var member = client.preferredMember
        // The lease's TTL as last renewed, and when: past it without a renewal, the lease has expired in etcd.
        var renewedUntil: ContinuousClock.Instant?
        var failures: [EtcdEndpointFailure] = []
        var failedThisRound = 0
        var round = 0
        while !Task.isCancelled {
            guard !client.isClosed else {
                sink.yield(.failed(.closed))
                return
            }
            let connection = client.members[member]
            let end = await keepAlive(
                lease: lease, on: connection, timeout: client.callTimeout, sink: sink, renewedUntil: &renewedUntil)
            switch end {
            case .expired:
                sink.yield(.expired)
                return
            case .cancelled:
                return
            case .failed(let error):
                sink.yield(.failed(client.isClosed ? .closed : error))
                return
            case .lost(let status, let renewed):
                if client.isClosed {
                    sink.yield(.failed(.closed))
                    return
                }
                let failure = EtcdEndpointFailure(endpoint: connection.endpoint, error: status)
                sink.yield(.streamLost(failure))
                if renewed {
                    failures = []
                    failedThisRound = 0
                    round = 0
                }
                failures.append(failure)
                if failures.count > 16 { failures.removeFirst() }
                client.moveOn(from: member)
                member = EtcdFailover.endpoint(after: member, count: client.members.count)
                // Past the lease's TTL (and the time a member may take to answer), etcd has expired it.
                if let renewedUntil, clock.now > renewedUntil.advanced(by: client.callTimeout) {
                    sink.yield(.failed(.unavailable(failures)))
                    return
                }
                failedThisRound += 1
                if failedThisRound == client.members.count {
                    failedThisRound = 0
                    round += 1
                    try? await Task.sleep(for: EtcdFailover.pause(afterRound: round))
                }
            }
        }
    }

    /// Renews `lease` on one LeaseKeepAlive stream to `connection`, now and then every TTL/3, reporting each
    /// renewal, until the stream ends.
    private static func keepAlive(
        lease: Int64, on connection: EtcdMemberConnection, timeout: Duration,
        sink: AsyncStream<Event>.Continuation, renewedUntil: inout ContinuousClock.Instant?
    ) async -> StreamEnd {
        let (requests, requestSink) = AsyncStream<Etcdserverpb_LeaseKeepAliveRequest>.makeStream()
        defer { requestSink.finish() }
        let responses: ResponseStream<Etcdserverpb_LeaseKeepAliveResponse>
        do {
            responses = try await connection.lease.leaseKeepAlive(
                requests, options: EtcdMemberConnection.requireLeader)
        } catch {
            return classify(EtcdClient.status(of: error), at: connection.endpoint, renewed: false)
        }
        // The responses and the renewals' time limits arrive on one stream, read in order below.
        let (signals, signalSink) = AsyncStream<Signal>.makeStream()
        let reader = Task {
            do {
                for try await response in responses { signalSink.yield(.response(response)) }
                signalSink.yield(.ended)
            } catch {
                signalSink.yield(.failed(EtcdClient.status(of: error)))
            }
        }
        var timer: Task<Void, Never>?
        defer {
            reader.cancel()
            timer?.cancel()
            signalSink.finish()
        }
        var request = Etcdserverpb_LeaseKeepAliveRequest()
        request.id = lease
        var renewal = 0
        var renewed = false
        var signalIterator = signals.makeAsyncIterator()
        while true {
            renewal += 1
            requestSink.yield(request)
            let current = renewal
            timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { signalSink.yield(.unanswered(renewal: current)) }
            }
            // Waits for this renewal's answer.
            var ttl: Int64?
            while ttl == nil {
                guard let signal = await signalIterator.next(), !Task.isCancelled else { return .cancelled }
                switch signal {
                case .response(let response):
                    guard response.ttl > 0 else { return .expired }
                    ttl = response.ttl
                case .failed(let status):
                    return Task.isCancelled ? .cancelled : classify(status, at: connection.endpoint, renewed: renewed)
                case .ended:
                    return .lost(RPCError(.unavailable, "etcd ended the keep-alive stream"), renewed: renewed)
                case .unanswered(let number):
                    guard number == current else { continue }
                    return .lost(
                        RPCError(.deadlineExceeded, "no answer to a keep-alive within \(timeout)"), renewed: renewed)
                }
            }
            timer?.cancel()
            renewed = true
            let seconds = ttl!
            renewedUntil = ContinuousClock.now.advanced(by: .seconds(seconds))
            sink.yield(.renewed(ttl: seconds, endpoint: connection.endpoint))
            do {
                try await Task.sleep(for: .milliseconds(max(seconds * 1000 / 3, 100)))
            } catch {
                return .cancelled
            }
        }
    }

    /// A stream that failed with `status`: lost (go on elsewhere) when a read would move on, else the end.
    private static func classify(_ status: RPCError, at endpoint: EtcdEndpoint, renewed: Bool) -> StreamEnd {
        switch EtcdFailover.decide(after: status, kind: .read, endpoint: endpoint) {
        case .tryNextEndpoint: .lost(status, renewed: renewed)
        case .fail(let error): .failed(error)
        }
    }
}
