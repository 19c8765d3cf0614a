import EtcdClient

/// How a node joins a cluster (docs/REPLICATION.md).
public struct ClusterSettings: Sendable {
    /// The client of the etcd cluster that orders blocks.
    public var etcd: EtcdClient
    /// The etcd key prefix of the ledger; nil: `/healthledger/<chain id>`.
    public var prefix: String?
    /// The address clients reach this node at, written beside the leader key for operators.
    public var advertisedAddress: String
    /// Time to live of the leader's lease: how long the cluster waits for a silent leader before another takes over.
    public var leaseTTLSeconds: Int64 = 5
    /// Largest block the leader proposes; etcd must accept requests this large plus the outcomes of forwarded work
    /// (its --max-request-bytes, 1.5 MiB by default).
    public var maxBlockBytes = 1 << 20
    /// Longest a decision waits for this node to catch up with the cluster's head before it answers UNAVAILABLE.
    public var readIndexTimeout: Duration = .seconds(5)

    public init(etcd: EtcdClient, prefix: String? = nil, advertisedAddress: String) {
        self.etcd = etcd
        self.prefix = prefix
        self.advertisedAddress = advertisedAddress
    }
}
