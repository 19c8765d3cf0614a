import RPCCore

/// Why an etcd call failed.
public enum EtcdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// etcd answered with an error status; `EtcdServerError.reason` names the errors etcd is known to send.
    case server(EtcdServerError)
    /// A call that changes data (Put, DeleteRange, Txn, a lease grant or revoke, Compact) reached `endpoint` and
    /// failed before its answer arrived: etcd may or may not have applied it. Read what it would have changed (the
    /// key's mod_revision, the Txn's guard) before sending it again.
    case outcomeUnknown(endpoint: EtcdEndpoint, cause: RPCError)
    /// No endpoint answered within the call's time; each attempt's failure, oldest first.
    case unavailable([EtcdEndpointFailure])
    /// A watch asked for events etcd has compacted away: events from `compactRevision` on are still there (a
    /// caller that must see every change re-reads the state instead).
    case compacted(compactRevision: Int64)
    /// etcd cancelled a watch for another reason than compaction (e.g. permission), saying why.
    case watchCancelled(reason: String)
    /// The client was closed.
    case closed
    /// The calling task was cancelled.
    case cancelled
    /// An endpoint that does not parse (see `EtcdEndpoint.init(parsing:)`).
    case invalidEndpoint(String)
    /// The TLS configuration could not be loaded (a missing or unreadable certificate, key or CA file).
    case tlsConfiguration(String)

    /// The etcd error this is, when etcd answered with one it is known to send.
    public var serverReason: EtcdServerError.Reason? {
        if case .server(let error) = self { return error.reason }
        return nil
    }

    /// One line saying what failed.
    public var description: String {
        switch self {
        case .server(let error):
            return error.description
        case .outcomeUnknown(let endpoint, let cause):
            return "the call reached \(endpoint) and its outcome is unknown: \(cause)"
        case .unavailable(let failures):
            let tried = failures.map(\.description).joined(separator: "; ")
            return "no etcd endpoint answered" + (tried.isEmpty ? "" : ": \(tried)")
        case .compacted(let revision):
            return "the watch's start revision was compacted; the oldest revision left is \(revision)"
        case .watchCancelled(let reason):
            return "etcd cancelled the watch: \(reason)"
        case .closed:
            return "the etcd client is closed"
        case .cancelled:
            return "the call was cancelled"
        case .invalidEndpoint(let text):
            return "'\(text)' is not an etcd endpoint (host:port or http(s)://host:port)"
        case .tlsConfiguration(let reason):
            return "the TLS configuration cannot be loaded: \(reason)"
        }
    }
}

/// One failed attempt at a call, on one endpoint.
public struct EtcdEndpointFailure: Hashable, Sendable, CustomStringConvertible {
    /// Where the call was sent.
    public var endpoint: EtcdEndpoint
    /// How it failed there.
    public var error: RPCError

    /// "host:port: CODE: message".
    public var description: String { "\(endpoint): \(error)" }
}

/// An error status etcd answered with: its gRPC code and message, and which of etcd's errors it is.
public struct EtcdServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The gRPC status code.
    public var code: RPCError.Code
    /// etcd's message, e.g. "etcdserver: requested lease not found".
    public var message: String
    /// The member that answered.
    public var endpoint: EtcdEndpoint
    /// Which of etcd's errors it is; nil for one this client does not know.
    public var reason: Reason?

    /// The error `status` answered by `endpoint`.
    public init(_ status: RPCError, endpoint: EtcdEndpoint) {
        code = status.code
        message = status.message
        self.endpoint = endpoint
        reason = Reason(rawValue: status.message)
    }

    /// "CODE: message (from host:port)".
    public var description: String { "\(code.name): \(message) (from \(endpoint))" }

    /// The errors etcd v3.4 sends, by their exact message (etcd's clients recognise them the same way:
    /// etcdserver/api/v3rpc/rpctypes).
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// INVALID_ARGUMENT: an empty key.
        case emptyKey = "etcdserver: key is not provided"
        /// INVALID_ARGUMENT: a Put with ignore_value or ignore_lease on a key that does not exist.
        case keyNotFound = "etcdserver: key not found"
        /// INVALID_ARGUMENT: a Txn with more operations than the server's --max-txn-ops.
        case tooManyOperations = "etcdserver: too many operations in txn request"
        /// INVALID_ARGUMENT: a Txn that changes one key twice.
        case duplicateKey = "etcdserver: duplicate key given in txn request"
        /// INVALID_ARGUMENT: a request larger than the server's --max-request-bytes.
        case requestTooLarge = "etcdserver: request is too large"
        /// OUT_OF_RANGE: a read at a revision that has been compacted.
        case compacted = "etcdserver: mvcc: required revision has been compacted"
        /// OUT_OF_RANGE: a read at a revision the store has not reached.
        case futureRevision = "etcdserver: mvcc: required revision is a future revision"
        /// RESOURCE_EXHAUSTED: the database is over its quota; etcd takes only reads and deletes until defragmented.
        case noSpace = "etcdserver: mvcc: database space exceeded"
        /// RESOURCE_EXHAUSTED: the member has too many proposals in flight.
        case tooManyRequests = "etcdserver: too many requests"
        /// NOT_FOUND: the lease does not exist (never granted, revoked, or expired).
        case leaseNotFound = "etcdserver: requested lease not found"
        /// FAILED_PRECONDITION: a lease with the requested id exists already.
        case leaseExists = "etcdserver: lease already exists"
        /// OUT_OF_RANGE: a lease TTL over etcd's maximum.
        case leaseTTLTooLarge = "etcdserver: too large lease TTL"
        /// UNAVAILABLE: the member has no leader (it was asked to require one), so it did not take the request.
        case noLeader = "etcdserver: no leader"
        /// UNAVAILABLE: the leader changed while the request waited.
        case leaderChanged = "etcdserver: leader changed"
        /// UNAVAILABLE: the member is stopping.
        case stopped = "etcdserver: server stopped"
        /// UNAVAILABLE: the request was proposed but not applied in time; it may still be.
        case timeout = "etcdserver: request timed out"
        /// UNAVAILABLE: as `timeout`, after the leader failed.
        case timeoutDueToLeaderFailure = "etcdserver: request timed out, possibly due to previous leader failure"
        /// UNAVAILABLE: as `timeout`, after the connection to the leader was lost.
        case timeoutDueToConnectionLost = "etcdserver: request timed out, possibly due to connection lost"
        /// UNAVAILABLE: a read waited too long for the member to catch up.
        case timeoutWaitingForAppliedIndex =
            "etcdserver: request timed out, waiting for the applied index took too long"
        /// UNAVAILABLE: the cluster is not healthy enough for the request.
        case unhealthy = "etcdserver: unhealthy cluster"
        /// UNAVAILABLE: the member's cluster version cannot serve the request yet.
        case notCapable = "etcdserver: not capable"
        /// UNAVAILABLE: a raft learner takes no such requests.
        case notSupportedForLearner = "etcdserver: rpc not supported for learner"
        /// UNKNOWN: the member has no leader to forward the proposal to, so raft dropped it unapplied.
        case proposalDropped = "raft proposal dropped"
        /// DATA_LOSS: etcd found its data corrupt.
        case corrupt = "etcdserver: corrupt cluster"
        /// PERMISSION_DENIED: the user may not do this (with authentication on).
        case permissionDenied = "etcdserver: permission denied"
        /// UNAUTHENTICATED: the auth token is not valid.
        case invalidAuthToken = "etcdserver: invalid auth token"

        /// Whether etcd refused the request before proposing it, so it was not applied and may be sent to another
        /// member, even when it changes data.
        public var refusedBeforeApplying: Bool {
            switch self {
            case .noLeader, .notCapable, .notSupportedForLearner, .proposalDropped, .tooManyRequests: true
            default: false
            }
        }
    }
}
