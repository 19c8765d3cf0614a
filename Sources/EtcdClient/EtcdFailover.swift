import RPCCore

/// What a call does after one attempt failed on one endpoint, and how endpoints take turns. Pure: the client
/// carries the decisions out, so every rule is testable without a cluster.
enum EtcdFailover {
    /// Whether sending a call twice can change the outcome.
    enum CallKind: Sendable, Hashable {
        /// Reads (Range, Status, MemberList) and streams that resume from a revision (Watch): safe to send again.
        case read
        /// Calls that change data (Put, DeleteRange, Txn, LeaseGrant, LeaseRevoke, Compact): sent again only when
        /// the first attempt is known not to have been applied.
        case write
    }

    /// The next step after a failed attempt.
    enum Decision: Sendable, Hashable {
        /// Send the call to the next endpoint (if the call's time allows).
        case tryNextEndpoint
        /// Give up with this error.
        case fail(EtcdError)
    }

    /// Decides what to do after `error` from an attempt of a `kind` call on `endpoint`:
    /// - a call the server did not act on (the transport never sent it, the stream was refused, or etcd refused it
    ///   before proposing it: no leader, proposal dropped, ...) moves on, whatever it does;
    /// - a read that failed UNAVAILABLE (connection lost, member timed out), DEADLINE_EXCEEDED or CANCELLED by the
    ///   server moves on;
    /// - a write that failed so after it may have reached etcd is `outcomeUnknown`;
    /// - any other status is etcd's answer: `server`.
    static func decide(after error: RPCError, kind: CallKind, endpoint: EtcdEndpoint) -> Decision {
        if error.isUnprocessed { return .tryNextEndpoint }
        let answer = EtcdServerError(error, endpoint: endpoint)
        if answer.reason?.refusedBeforeApplying == true { return .tryNextEndpoint }
        switch error.code {
        case .unavailable, .deadlineExceeded, .cancelled:
            return kind == .read ? .tryNextEndpoint : .fail(.outcomeUnknown(endpoint: endpoint, cause: error))
        default:
            return .fail(.server(answer))
        }
    }

    /// The endpoint after `index` in a list of `count`, round robin.
    static func endpoint(after index: Int, count: Int) -> Int {
        (index + 1) % count
    }

    /// How long to wait before trying every endpoint again, after `round` (1, 2, ...) rounds in which each failed:
    /// 50 ms, doubling, at most 1 s, so a call rides out a leader election without hammering the members.
    static func pause(afterRound round: Int) -> Duration {
        .milliseconds(min(1000, 50 << min(max(round - 1, 0), 5)))
    }
}
