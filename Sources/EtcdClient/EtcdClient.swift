import EtcdProtos
import HTTP2Transport
import RPCCore
import Synchronization

/// A client of an etcd v3 cluster over several members' endpoints: typed calls over the generated stubs, with
/// failover. Calls go to one member at a time; when it fails UNAVAILABLE or the connection breaks, the call moves
/// to the next endpoint, but is sent again there only when that is safe: reads always, calls that change data only
/// when the first attempt is known not to have been applied (otherwise `EtcdError.outcomeUnknown`). Each call has
/// `callTimeout` in all, its attempts and the pauses between rounds of endpoints included.
public final class EtcdClient: Sendable {
    /// The members' endpoints, in the order they are tried.
    public let endpoints: [EtcdEndpoint]
    /// How long one call may take in all, failover included.
    public let callTimeout: Duration

    let members: [EtcdMemberConnection]
    private let state = Mutex(State())

    private struct State {
        /// The member calls start at: the last one that answered, moved on when it fails.
        var preferred = 0
        var isClosed = false
    }

    /// A client of the cluster at `endpoints` (TLS when `tls` is set: the CA to trust, and a client certificate
    /// and key for etcd's --client-cert-auth). Nothing connects until the first call. Throws
    /// `EtcdError.invalidEndpoint` for an empty list, `.tlsConfiguration` when the TLS files cannot be loaded.
    public init(
        endpoints: [EtcdEndpoint], tls: TLSClientConfiguration? = nil, callTimeout: Duration = .seconds(5)
    ) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw .invalidEndpoint("") }
        self.endpoints = endpoints
        self.callTimeout = callTimeout
        var members: [EtcdMemberConnection] = []
        for endpoint in endpoints {
            members.append(try EtcdMemberConnection(endpoint: endpoint, tls: tls, connectTimeout: callTimeout))
        }
        self.members = members
    }

    /// Parses `endpoints` ("host:port" or "http(s)://host:port", see `EtcdEndpoint.init(parsing:)`) and makes a
    /// client of them.
    public convenience init(
        endpoints: [String], tls: TLSClientConfiguration? = nil, callTimeout: Duration = .seconds(5)
    ) throws(EtcdError) {
        var parsed: [EtcdEndpoint] = []
        for text in endpoints { parsed.append(try EtcdEndpoint(parsing: text)) }
        try self.init(endpoints: parsed, tls: tls, callTimeout: callTimeout)
    }

    // MARK: Keys

    /// The keys in [`key`, `end`) (only `key` when `end` is nil; `prefixEnd(key)` for every key with the prefix
    /// `key`), as of `revision` (0: the newest), at most `limit` of them (0: all). `serializable` reads the member's
    /// local copy without consensus (faster, possibly stale); `keysOnly` leaves the values out. A read: on failure it
    /// moves to the next endpoint. A compacted `revision` fails with reason `.compacted`.
    public func range(
        _ key: [UInt8], end: [UInt8]? = nil, revision: Int64 = 0, limit: Int64 = 0, serializable: Bool = false,
        keysOnly: Bool = false
    ) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        var request = Etcdserverpb_RangeRequest()
        request.key = key
        request.rangeEnd = end ?? []
        request.revision = revision
        request.limit = limit
        request.serializable = serializable
        request.keysOnly = keysOnly
        return try await range(request)
    }

    /// A Range as given (sorting, counting, revision filters).
    public func range(_ request: Etcdserverpb_RangeRequest) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        try await perform(.read) { [request] member, options in try await member.kv.range(request, options: options) }
    }

    /// Sets `key` to `value`, attached to `lease` (0: none). Changes data: see `EtcdError.outcomeUnknown`.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) async throws(EtcdError)
        -> Etcdserverpb_PutResponse
    {
        var request = Etcdserverpb_PutRequest()
        request.key = key
        request.value = value
        request.lease = lease
        return try await perform(.write) { [request] member, options in
            try await member.kv.put(request, options: options)
        }
    }

    /// Deletes the keys in [`key`, `end`) (only `key` when `end` is nil). Changes data.
    @discardableResult
    public func deleteRange(_ key: [UInt8], end: [UInt8]? = nil) async throws(EtcdError)
        -> Etcdserverpb_DeleteRangeResponse
    {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = key
        request.rangeEnd = end ?? []
        return try await perform(.write) { [request] member, options in
            try await member.kv.deleteRange(request, options: options)
        }
    }

    /// Runs a transaction (see `Etcdserverpb_TxnRequest(if:then:else:)` and the `Etcdserverpb_Compare` and
    /// `Etcdserverpb_RequestOp` helpers). A guard that does not hold is no error: `succeeded` is false. Changes
    /// data, even when it only reads: it is treated as a write.
    public func txn(_ request: Etcdserverpb_TxnRequest) async throws(EtcdError) -> Etcdserverpb_TxnResponse {
        try await perform(.write) { [request] member, options in try await member.kv.txn(request, options: options) }
    }

    /// Compacts the history up to `revision`: reads and watches before it fail from then on. `physical` waits
    /// until the member's database has dropped the old versions. Changes data.
    @discardableResult
    public func compact(revision: Int64, physical: Bool = false) async throws(EtcdError)
        -> Etcdserverpb_CompactionResponse
    {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = physical
        return try await perform(.write) { [request] member, options in
            try await member.kv.compact(request, options: options)
        }
    }

    /// The end of the range of every key starting with `prefix`: `prefix` with its last byte below 0xff increased
    /// and the 0xff bytes after it dropped ("a" -> "b", "a\u{ff}" -> "b"); for a prefix of only 0xff bytes (or
    /// none), [0], which etcd reads as "every key from `key` on".
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    // MARK: Leases

    /// Grants a lease of `ttlSeconds` (etcd may choose a longer one, at least its minimum): its id and TTL. Changes
    /// data: an unknown outcome may have left a lease that expires by itself.
    public func grantLease(ttlSeconds: Int64) async throws(EtcdError) -> (id: Int64, ttl: Int64) {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = ttlSeconds
        let response = try await perform(.write) { [request] member, options in
            try await member.lease.leaseGrant(request, options: options)
        }
        return (response.id, response.ttl)
    }

    /// Revokes lease `id`, deleting its keys. Reason `.leaseNotFound` when it does not exist (any more). Changes data.
    public func revokeLease(_ id: Int64) async throws(EtcdError) {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        _ = try await perform(.write) { [request] member, options in
            try await member.lease.leaseRevoke(request, options: options)
        }
    }

    /// Lease `id`'s remaining and granted TTL (TTL -1 when it has expired), with its keys when `keys` is set.
    public func leaseTimeToLive(_ id: Int64, keys: Bool = false) async throws(EtcdError)
        -> Etcdserverpb_LeaseTimeToLiveResponse
    {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        request.keys = keys
        return try await perform(.read) { [request] member, options in
            try await member.lease.leaseTimeToLive(request, options: options)
        }
    }

    /// Keeps lease `lease` alive on one LeaseKeepAlive stream, renewing every TTL/3, until cancelled, the lease
    /// expires, or the handle is released. See `EtcdLeaseKeepAlive`.
    public func keepAlive(lease: Int64) -> EtcdLeaseKeepAlive {
        EtcdLeaseKeepAlive(lease: lease, client: self)
    }

    // MARK: Watch

    /// The changes to the keys in [`key`, `end`) (only `key` when `end` is nil) from `startRevision` on (0: from
    /// now), in batches with their header revision, in revision order. With `progressNotify` etcd also sends empty
    /// batches now and then, saying how far the watch has got.
    ///
    /// When the stream to a member breaks, the watch resumes on the next endpoint from the revision after the last
    /// one delivered, so no event is lost or repeated; it gives up with `EtcdError.unavailable` when no member
    /// takes it for `callTimeout`. A compacted `startRevision` ends it with `EtcdError.compacted`, naming the
    /// oldest revision left. Other errors are `EtcdError`s too; cancelling the iterating task ends it quietly.
    /// Events are read as the caller asks for them (etcd holds the rest), so one consumer iterates it.
    public func watch(
        _ key: [UInt8], end: [UInt8]? = nil, startRevision: Int64, progressNotify: Bool = false
    ) -> AsyncThrowingStream<EtcdWatchBatch, any Error> {
        var request = Etcdserverpb_WatchCreateRequest()
        request.key = key
        request.rangeEnd = end ?? []
        request.progressNotify = progressNotify
        let session = EtcdWatchSession(
            client: self, request: request, progress: EtcdWatchProgress(nextRevision: startRevision))
        return AsyncThrowingStream { try await session.next() }
    }

    // MARK: Cluster

    /// The status of whichever member answers first (its version, leader, raft indexes, database size).
    public func status() async throws(EtcdError) -> Etcdserverpb_StatusResponse {
        try await perform(.read) { member, options in
            try await member.maintenance.status(Etcdserverpb_StatusRequest(), options: options)
        }
    }

    /// The status of the member at `endpoint` (one of `endpoints`), without failover: for finding the leader or a
    /// member that is behind.
    public func status(of endpoint: EtcdEndpoint) async throws(EtcdError) -> Etcdserverpb_StatusResponse {
        guard let member = members.first(where: { $0.endpoint == endpoint }) else {
            throw .invalidEndpoint(endpoint.description)
        }
        guard !isClosed else { throw .closed }
        do {
            return try await member.maintenance.status(
                Etcdserverpb_StatusRequest(), options: CallOptions(timeout: callTimeout))
        } catch {
            throw Self.failure(error, at: endpoint)
        }
    }

    /// The cluster's members.
    public func memberList() async throws(EtcdError) -> Etcdserverpb_MemberListResponse {
        try await perform(.read) { member, options in
            try await member.cluster.memberList(Etcdserverpb_MemberListRequest(), options: options)
        }
    }

    /// Closes every connection: open calls and watches fail, later calls throw `EtcdError.closed`, keep-alives end.
    public func close() async {
        state.withLock { $0.isClosed = true }
        for member in members { await member.transport.close() }
    }

    // MARK: Failover

    /// Whether `close()` was called.
    var isClosed: Bool { state.withLock { $0.isClosed } }

    /// The index of the member calls start at.
    var preferredMember: Int { state.withLock { $0.preferred } }

    /// Member `index` answered: calls start there.
    func prefer(_ index: Int) {
        state.withLock { $0.preferred = index }
    }

    /// Member `index` failed: unless another call already moved on, calls start at the next one.
    func moveOn(from index: Int) {
        state.withLock { state in
            if state.preferred == index { state.preferred = EtcdFailover.endpoint(after: index, count: members.count) }
        }
    }

    /// Runs `attempt` on the preferred member and, as `EtcdFailover.decide` says, on the next ones, until it
    /// answers, fails for good, or `callTimeout` has passed (then `EtcdError.unavailable` with the attempts).
    func perform<Response: Sendable>(
        _ kind: EtcdFailover.CallKind,
        _ attempt: @Sendable (EtcdMemberConnection, CallOptions) async throws -> Response
    ) async throws(EtcdError) -> Response {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: callTimeout)
        var failures: [EtcdEndpointFailure] = []
        var index = preferredMember
        var failedThisRound = 0
        var round = 0
        while true {
            guard !isClosed else { throw .closed }
            guard !Task.isCancelled else { throw .cancelled }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { throw .unavailable(failures) }
            let member = members[index]
            do {
                let response = try await attempt(member, CallOptions(timeout: remaining))
                prefer(index)
                return response
            } catch {
                if Task.isCancelled { throw .cancelled }
                let status = Self.status(of: error)
                switch EtcdFailover.decide(after: status, kind: kind, endpoint: member.endpoint) {
                case .fail(let failure):
                    throw failure
                case .tryNextEndpoint:
                    failures.append(EtcdEndpointFailure(endpoint: member.endpoint, error: status))
                    if failures.count > 16 { failures.removeFirst() }
                    moveOn(from: index)
                    index = EtcdFailover.endpoint(after: index, count: members.count)
                    failedThisRound += 1
                    if failedThisRound == members.count {
                        failedThisRound = 0
                        round += 1
                        let pause = min(EtcdFailover.pause(afterRound: round), clock.now.duration(to: deadline))
                        if pause > .zero { try? await Task.sleep(for: pause) }
                    }
                }
            }
        }
    }

    /// An error a stub threw, as a status (the transport and the generated code throw only `RPCError`).
    static func status(of error: any Error) -> RPCError {
        error as? RPCError ?? RPCError(.unknown, "\(error)")
    }

    /// An error of a call without failover at `endpoint`, as an `EtcdError`.
    static func failure(_ error: any Error, at endpoint: EtcdEndpoint) -> EtcdError {
        if Task.isCancelled { return .cancelled }
        let status = status(of: error)
        switch status.code {
        case .unavailable, .deadlineExceeded:
            return .unavailable([EtcdEndpointFailure(endpoint: endpoint, error: status)])
        default:
            return .server(EtcdServerError(status, endpoint: endpoint))
        }
    }
}
