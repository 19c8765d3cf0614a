import LedgerDomain
import RPCCore

/// Proof that this node leads the cluster: the etcd revision that created its leader key (every block it proposes
/// is conditional on that key being unchanged) and the lease the key is bound to.
struct LeaderFence: Sendable, Equatable {
    var leaderKeyRevision: Int64
    var lease: Int64
    /// The cluster's head height when this node won: it proposes only once it has applied that far.
    var headAtElection: UInt64
}

/// A block the leader asks the cluster to order, with the forwarded batches it consumes.
struct BlockProposal: Sendable {
    var height: UInt64
    var storedBlock: [UInt8]
    /// For each forwarded batch in the block: its inbox key's node and batch id, and the outcome to write back.
    var consumed: [(node: String, batch: String, outcome: ForwardedOutcome)]
}

/// How a proposal ended.
enum ProposalResult: Sendable, Equatable {
    /// The block is block `height` of the cluster.
    case committed
    /// Another node leads now, or the head moved: the block was not ordered.
    case superseded(String)
}

/// What the cluster committer asks of the store that orders blocks (etcd), from its own thread: each call waits for
/// etcd's answer.
protocol ClusterOrdering: Sendable {
    /// Puts a batch of forwarded work in the leader's inbox. UNAVAILABLE when etcd cannot take it: marked
    /// unprocessed (`RPCError.isUnprocessed`) when the batch is surely not in the inbox, else it may still be there.
    func forward(_ batch: ForwardedBatch, node: String, batchID: String) throws(RPCError)
    /// Orders `proposal` as the next block if `fence` still holds and the head is the block before it. UNAVAILABLE
    /// when etcd cannot be asked (after retrying an answer that was lost: the proposal is conditional, so it is
    /// ordered at most once, and a lost answer is settled by reading the block back).
    func propose(_ proposal: BlockProposal, fence: LeaderFence) throws(RPCError) -> ProposalResult
    /// Takes forwarded batches that cannot be ordered (too large for etcd) out of the inbox with their refusals as
    /// outcomes, if `fence` still holds: left there, they would fail every block they are put in.
    func refuse(_ batches: [(node: String, batch: String, outcome: ForwardedOutcome)], fence: LeaderFence) throws(RPCError)
    /// Deletes an outcome this node has read (best effort).
    func discardOutcome(node: String, batchID: String)
    /// The cluster's head height, read linearizably: the read index of a decision.
    func headHeight() async throws(RPCError) -> UInt64
}

/// What a node of a cluster shares with the cluster, for its runtime.
struct ClusterContext: Sendable {
    var ordering: any ClusterOrdering
    var readIndex: ReadIndexBatcher
    var nodeKeys: ClusterNodeKeys
    var heights: HeightWaiters
    var maxBlockBytes: Int
    /// Longest a decision waits for this node to apply its read index.
    var readIndexTimeout: Duration
    var onLeadershipLost: @Sendable (LeaderFence) -> Void
}
