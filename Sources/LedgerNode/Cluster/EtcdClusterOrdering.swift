import EtcdClient
import EtcdProtos
import LedgerCrypto
import Logging
import RPCCore

/// Orders a cluster's blocks in etcd (see ``ClusterKeyspace`` for the keys). A block is committed by one etcd
/// transaction that holds only while the proposer's leader key is the one it created and the head is the block
/// before: it puts the block and the new head, takes the forwarded batches it holds out of the inbox and writes their
/// outcomes, all at once or not at all.
struct EtcdClusterOrdering: ClusterOrdering {
    let etcd: EtcdClient
    let keyspace: ClusterKeyspace
    let logger: Logger

    /// How often a proposal whose answer was lost is sent again before the call gives up: each try is conditional, so
    /// the block is ordered at most once whatever happened to the earlier ones.
    static let proposalAttempts = 5

    func forward(_ batch: ForwardedBatch, node: String, batchID: String) throws(RPCError) {
        let key = keyspace.inbox(node: node, batch: batchID)
        let value = batch.serializedBytes()
        try ThreadBridge.wait { () async throws(RPCError) in
            do { _ = try await etcd.put(key, value) } catch {
                let failure = Self.unavailable(error, doing: "forward work to the leader")
                // Only a put that reached etcd and lost its answer may still be in the inbox.
                if case .outcomeUnknown? = error as? EtcdError { throw failure }
                throw failure.markedUnprocessed()
            }
        }
    }

    func propose(_ proposal: BlockProposal, fence: LeaderFence) throws(RPCError) -> ProposalResult {
        let request = transaction(for: proposal, fence: fence)
        let blockKey = keyspace.block(proposal.height)
        return try ThreadBridge.wait { () async throws(RPCError) -> ProposalResult in
            var lastError: (any Error)?
            for attempt in 0..<Self.proposalAttempts {
                if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 * attempt)) }
                do {
                    let response = try await etcd.txn(request)
                    if response.succeeded { return .committed }
                    // The conditions failed: this node no longer leads, or an earlier try of this very proposal
                    // was ordered after all. The block at this height tells which.
                    let stored = try await etcd.range(blockKey)
                    if let value = stored.kvs.first?.value, value == proposal.storedBlock { return .committed }
                    return .superseded("block \(proposal.height) was not ordered: another node leads or the head moved")
                } catch {
                    // etcd's refusals that no retry changes.
                    switch (error as? EtcdError)?.serverReason {
                    case .requestTooLarge?:
                        throw RPCError(
                            .resourceExhausted,
                            "block \(proposal.height) (\(proposal.storedBlock.count) bytes) is larger than etcd accepts; raise etcd's --max-request-bytes")
                    case .noSpace?:
                        throw RPCError(
                            .unavailable,
                            "etcd's storage quota is used up; compact and defragment etcd, or raise its --quota-backend-bytes (docs/DEPLOY.md)")
                    case .leaseNotFound?:
                        return .superseded("the leader's lease ended")
                    default:
                        lastError = error
                        logger.warning(
                            "a block proposal got no answer; asking again",
                            metadata: ["height": "\(proposal.height)", "error": "\(error)"])
                    }
                }
            }
            throw Self.unavailable(lastError, doing: "order block \(proposal.height)")
        }
    }

    func refuse(_ batches: [(node: String, batch: String, outcome: ForwardedOutcome)], fence: LeaderFence)
        throws(RPCError)
    {
        var operations: [Etcdserverpb_RequestOp] = []
        for refused in batches {
            operations.append(.deleteRange(keyspace.inbox(node: refused.node, batch: refused.batch)))
            operations.append(
                .put(
                    keyspace.outcome(node: refused.node, batch: refused.batch), refused.outcome.serializedBytes(),
                    lease: fence.lease))
        }
        let request = Etcdserverpb_TxnRequest(if: [leads(fence)], then: operations)
        let refusal = request
        try ThreadBridge.wait { () async throws(RPCError) in
            do { _ = try await etcd.txn(refusal) } catch { throw Self.unavailable(error, doing: "refuse forwarded work") }
        }
    }

    func discardOutcome(node: String, batchID: String) {
        let key = keyspace.outcome(node: node, batch: batchID)
        let etcd = etcd
        Task { _ = try? await etcd.deleteRange(key) }
    }

    func headHeight() async throws(RPCError) -> UInt64 {
        let response: Etcdserverpb_RangeResponse
        do { response = try await etcd.range(keyspace.head) } catch {
            throw Self.unavailable(error, doing: "read its head")
        }
        guard let value = response.kvs.first?.value else { return 0 }
        guard let height = ClusterKeyspace.height(headValue: value) else {
            throw RPCError(.internalError, "the cluster's head key holds no height")
        }
        return height
    }

    /// The conditional etcd transaction that orders `proposal`.
    func transaction(for proposal: BlockProposal, fence: LeaderFence) -> Etcdserverpb_TxnRequest {
        let follows: Etcdserverpb_Compare =
            proposal.height == 1
            ? .createRevision(of: keyspace.head, .equal, 0)
            : .value(of: keyspace.head, .equal, ClusterKeyspace.headValue(proposal.height - 1))
        var operations: [Etcdserverpb_RequestOp] = [
            .put(keyspace.block(proposal.height), proposal.storedBlock),
            .put(keyspace.head, ClusterKeyspace.headValue(proposal.height)),
        ]
        for consumed in proposal.consumed {
            operations.append(.deleteRange(keyspace.inbox(node: consumed.node, batch: consumed.batch)))
            // Bound to the leader's lease, so outcomes nobody read go with the leader that wrote them.
            operations.append(
                .put(
                    keyspace.outcome(node: consumed.node, batch: consumed.batch), consumed.outcome.serializedBytes(),
                    lease: fence.lease))
        }
        return Etcdserverpb_TxnRequest(if: [leads(fence), follows], then: operations)
    }

    /// Holds while `fence`'s leader key is the one in etcd.
    private func leads(_ fence: LeaderFence) -> Etcdserverpb_Compare {
        .createRevision(of: keyspace.leader, .equal, fence.leaderKeyRevision)
    }

    static func unavailable(_ error: (any Error)?, doing what: String) -> RPCError {
        RPCError(.unavailable, "the cluster cannot \(what) right now (\(error.map { "\($0)" } ?? "no answer")); retry")
    }
}

/// Waits on a node's own thread for async work: the cluster committer's etcd calls.
enum ThreadBridge {
    private final class Outcome<T>: @unchecked Sendable {
        let condition = ThreadCondition()
        var result: Result<T, RPCError>?
    }

    static func wait<T>(_ body: @escaping @Sendable () async throws(RPCError) -> T) throws(RPCError) -> T {
        let outcome = Outcome<T>()
        Task {
            let result: Result<T, RPCError>
            do throws(RPCError) { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.condition.lock()
            outcome.result = result
            outcome.condition.signal()
            outcome.condition.unlock()
        }
        outcome.condition.lock()
        while outcome.result == nil { outcome.condition.wait() }
        let result = outcome.result!
        outcome.condition.unlock()
        return try result.get()
    }
}
