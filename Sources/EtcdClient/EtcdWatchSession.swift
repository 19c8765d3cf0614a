import EtcdProtos
import RPCCore

/// One watch as its consumer reads it: a Watch stream on one member at a time, resumed on the next endpoint from
/// `EtcdWatchProgress.nextRevision` when the stream breaks. `next()` reads the stream only when asked, so etcd
/// (and HTTP/2 flow control) holds what the consumer has not taken yet.
///
/// Unchecked Sendable: the watch's AsyncThrowingStream has one consumer, which calls `next()` one call at a time,
/// so the mutable state is never touched concurrently.
final class EtcdWatchSession: @unchecked Sendable {
    private let client: EtcdClient
    private let request: Etcdserverpb_WatchCreateRequest
    private var progress: EtcdWatchProgress
    private var member: Int
    /// The open stream: its responses and the request stream that keeps it open.
    private var stream:
        (
            responses: ResponseStream<Etcdserverpb_WatchResponse>.AsyncIterator,
            requests: AsyncStream<Etcdserverpb_WatchRequest>.Continuation
        )?
    /// Failures since the last response, and when the first of them happened.
    private var failures: [EtcdEndpointFailure] = []
    private var failingSince: ContinuousClock.Instant?
    private var failedThisRound = 0
    private var round = 0
    private var isFinished = false

    init(client: EtcdClient, request: Etcdserverpb_WatchCreateRequest, progress: EtcdWatchProgress) {
        self.client = client
        self.request = request
        self.progress = progress
        self.member = client.preferredMember
    }

    deinit {
        stream?.requests.finish()
    }

    /// The next batch, nil once cancelled, or the error that ended the watch.
    func next() async throws -> EtcdWatchBatch? {
        while !isFinished {
            if Task.isCancelled { return stop() }
            guard !client.isClosed else { throw end(.closed) }
            let connection = client.members[member]
            do {
                var responses = try await openStream(on: connection)
                let response = try await responses.next()
                stream?.responses = responses
                guard let response else {
                    throw RPCError(.unavailable, "etcd ended the watch stream")
                }
                resetFailures()
                client.prefer(member)
                switch progress.handle(response) {
                case .deliver(let batch): return batch
                case .skip: continue
                case .fail(let error): throw end(error)
                }
            } catch let error as EtcdError {
                throw error  // the watch's own end (`end` was called)
            } catch {
                if Task.isCancelled { return stop() }
                guard !client.isClosed else { throw end(.closed) }
                let status = EtcdClient.status(of: error)
                switch EtcdFailover.decide(after: status, kind: .read, endpoint: connection.endpoint) {
                case .fail(let failure):
                    throw end(failure)
                case .tryNextEndpoint:
                    try await moveOn(after: EtcdEndpointFailure(endpoint: connection.endpoint, error: status))
                }
            }
        }
        return nil
    }

    /// The open stream's responses, opening a stream on `connection` first when there is none.
    private func openStream(on connection: EtcdMemberConnection) async throws
        -> ResponseStream<Etcdserverpb_WatchResponse>.AsyncIterator
    {
        if let stream { return stream.responses }
        let (requests, continuation) = AsyncStream<Etcdserverpb_WatchRequest>.makeStream()
        continuation.yield(progress.createRequest(request))
        do {
            let responses = try await connection.watch.watch(requests, options: EtcdMemberConnection.requireLeader)
            stream = (responses.makeAsyncIterator(), continuation)
            return stream!.responses
        } catch {
            continuation.finish()
            throw error
        }
    }

    /// The stream on the current member failed: drop it and go on with the next member, pausing after a round in
    /// which every member failed; give up when they have failed for the client's call timeout.
    private func moveOn(after failure: EtcdEndpointFailure) async throws {
        dropStream()
        failures.append(failure)
        if failures.count > 16 { failures.removeFirst() }
        let clock = ContinuousClock()
        let since = failingSince ?? clock.now
        failingSince = since
        client.moveOn(from: member)
        member = EtcdFailover.endpoint(after: member, count: client.members.count)
        failedThisRound += 1
        let remaining = clock.now.duration(to: since.advanced(by: client.callTimeout))
        guard remaining > .zero else { throw end(.unavailable(failures)) }
        if failedThisRound == client.members.count {
            failedThisRound = 0
            round += 1
            try? await Task.sleep(for: min(EtcdFailover.pause(afterRound: round), remaining))
        }
    }

    private func resetFailures() {
        failures = []
        failingSince = nil
        failedThisRound = 0
        round = 0
    }

    private func dropStream() {
        stream?.requests.finish()
        stream = nil
    }

    /// Ends the watch quietly (its consumer was cancelled): the stream's end.
    private func stop() -> EtcdWatchBatch? {
        isFinished = true
        dropStream()
        return nil
    }

    /// Ends the watch with `error`, which it returns for throwing.
    private func end(_ error: EtcdError) -> EtcdError {
        isFinished = true
        dropStream()
        return error
    }
}
